"""The command line's flags: one parser for every `python -m gridlib` command, and the types that check each value.

A value that does not parse, or is out of range, is refused here by argparse with one message that
names the flag, the value and what is allowed; `gridlib.cli` decides what each command runs.
"""

import argparse
from dataclasses import fields

from .train import TrainConfig

BENCHMARKS = ("esd_step", "unet_forward", "attention_overhead", "t4_fit")


def _integers(text: str) -> list[int]:
    """'0,1,2' as [0, 1, 2]: comma-separated non-negative integers."""
    parts = text.split(",")
    if not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated non-negative integers, got {text!r}")
    return [int(part) for part in parts]


def _numbers(text: str) -> list[float]:
    """'1.5,2.5' as [1.5, 2.5]: comma-separated positive numbers."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(value >= 0 for value in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 0, got {text!r}")
    return values


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _natural(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# TrainConfig fields that some command sets itself, so their flags would be ignored there
SET_BY = {"study": ("seed", "masks", "weighting", "sharpness", "method"), "check": ("seed",), "train": ()}


def add_recipe_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """One flag per TrainConfig field that `command` lets the user change, each overriding the starting recipe."""
    from .settings import RECIPES, prompt_sets

    group = parser.add_argument_group("the recipe (each flag overrides one field)")
    if command != "study":  # a study starts from its own base (`studies.study_recipe`)
        group.add_argument("--recipe", choices=RECIPES, help="the recipe to start from (default: the model tier's)")
    for each in fields(TrainConfig):
        if each.name in SET_BY[command]:
            continue
        special = {"prompts": str, "neutral_prompts": str, "noise_levels": _numbers, "seed": _natural}
        kind = special.get(each.name) or {int: _positive, float: float, str: str}[each.type]
        choices = {"prompts": tuple(prompt_sets()), "neutral_prompts": ("empty", "neutral")}.get(each.name)
        group.add_argument(flag(each.name), type=kind, choices=choices)


def _common(parser: argparse.ArgumentParser, device: str | None = "cpu") -> None:
    parser.add_argument("--out", required=True, help="the file (or, for train, the folder) to write")
    parser.add_argument("--model", default="toy", help="sd14, toy, tiny, or an SD1.x hub id / folder (default toy)")
    parser.add_argument("--device", default=device, help=f"where runs train and sample (default {device or 'CUDA when available'})")


def _results_flags(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--seeds", type=_integers, help="training seeds (default 0,1,2)")
    parser.add_argument("--cases-per-style", type=_positive, help="evaluation cases per split and style (default: every case)")
    parser.add_argument("--sample-steps", type=_positive, help="DDIM steps per evaluation image (default 10)")
    parser.add_argument("--workers", type=_positive, default=1, help="runs side by side, one thread each (default 1)")
    parser.add_argument("--work-dir", default=f"runs/{name}", help="where each run's weights go")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    from .attacks import VARIANTS
    from .studies import SETTINGS

    parser = argparse.ArgumentParser(prog="python -m gridlib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    train = commands.add_parser("train", help="train one erasure from the model's recipe")
    _common(train, device=None)
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    add_recipe_flags(train, "train")

    check = commands.add_parser("check", help="the erasure check: a recipe, several seeds, every case before and after")
    _common(check)
    _results_flags(check, "check")
    check.add_argument("--image-seeds", type=_integers, help="image seeds per case (default 5000,5001)")
    add_recipe_flags(check, "check")

    study = commands.add_parser("study", help="train named settings with several seeds; held-out rates")
    _common(study)
    _results_flags(study, "study")
    study.add_argument("--settings", type=lambda text: tuple(text.split(",")), help=f"comma-separated, from {tuple(SETTINGS)}")
    study.add_argument("--quick", action="store_true", help="the book's small study: 2 settings, 1 seed, 40 iterations")
    study.add_argument("--scheduler", choices=("ddim", "dpm++"), help="the evaluation images' scheduler (default ddim)")
    add_recipe_flags(study, "study")

    attack = commands.add_parser("attack", help="chapter 7's study: leaks, the inversion attack, preservation")
    _common(attack)
    _results_flags(attack, "attack")
    attack.add_argument("--variants", type=lambda text: tuple(text.split(",")), help=f"comma-separated, from {tuple(VARIANTS)}")
    attack.add_argument("--attack-steps", type=_positive, default=300, help="inversion steps per attack (default 300)")
    attack.add_argument("--iterations", type=_positive, help="erasure iterations (default: the recipe's)")
    attack.add_argument("--noise-levels", type=_numbers, help="the erasures' x_t noise levels, low,high (default: the recipe's)")

    fidelity = commands.add_parser("fidelity", help="the original model under each sampler setting")
    _common(fidelity)
    fidelity.add_argument("--steps", type=_integers, default=[10, 20, 50], help="DDIM step counts (default 10,20,50)")
    fidelity.add_argument("--guidance", type=_numbers, default=[1.5, 2.5], help="guidance scales (default 1.5,2.5)")
    fidelity.add_argument("--splits", type=lambda text: text.split(","), default=["heldout"], help="prompt splits (default heldout)")

    reproduce = commands.add_parser("reproduce", help="list the committed results files, or rewrite one")
    reproduce.add_argument("name", nargs="?", help="a preset's name (see --list)")
    reproduce.add_argument("--list", action="store_true", help="every preset: its file, what it measures, its time")

    bench = commands.add_parser("bench", help="run a script of benchmarks/ (its flags follow its name)")
    bench.add_argument("script", choices=BENCHMARKS)
    book = commands.add_parser("book", help="build the book, or screenshot its built pages")
    book.add_argument("action", choices=("build", "screenshots"))
    return parser
