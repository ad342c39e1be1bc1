"""The command line: `python -m gridlib <command>` (or `gridlib <command>` once installed).

    python -m gridlib train --model toy --out runs/van_gogh       # one erasure: erasure.safetensors + metadata.json
    python -m gridlib check --out results/toy_erasure.json       # the recipe, 3 seeds, every case before and after
    python -m gridlib study --out results/ablations.json         # named settings x seeds, held-out rates
    python -m gridlib attack --out results/attacks.json          # leaks and the inversion attack (chapter 7)
    python -m gridlib fidelity --out results/toy_fidelity.json   # the original model under each sampler setting
    python -m gridlib reproduce --list                           # every committed results file and its command
    python -m gridlib reproduce toy_erasure                      # rewrite one of them
    python -m gridlib bench esd_step --model toy --quick         # a script of benchmarks/, with its own flags
    python -m gridlib book build                                 # what `make book` runs

Every option is a flag; a bad value, or a flag the command cannot use, gets one clear error before
anything runs. Each results file is written by `results.write_results`, which records this command line.
"""

import argparse
import runpy
import shlex
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .arguments import BENCHMARKS, build_parser, flag
from .results import ROOT, write_results
from .train import TrainConfig


@dataclass
class Plan:
    """What a results command will do, decided (and checked) before anything runs: the runner's arguments, as recorded."""

    command: str
    model: str
    config: dict
    run: object  # () -> the measured dict
    workers: int = 1
    device: str = "cpu"


def recipe_from(args: argparse.Namespace, start: TrainConfig) -> TrainConfig:
    """`start` with every recipe flag given applied, validated (one clear error).

    `--prompts NAME` takes a named list (`settings.prompt_sets`); where `start` anchors each prompt at its
    neutral form, the new prompts are too, unless `--neutral-prompts empty` asks for ESD's empty anchor.
    """
    from .settings import prompt_sets

    changes = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    if "prompts" in changes:
        changes["prompts"] = list(prompt_sets()[changes["prompts"]])
        if start.neutral_prompts is not None:
            changes.setdefault("neutral_prompts", "neutral")
    if changes.get("neutral_prompts") == "empty":
        changes["neutral_prompts"] = None
    elif changes.get("neutral_prompts") == "neutral":
        from .toyworld.prompts import neutral_prompt

        changes["neutral_prompts"] = [neutral_prompt(p) for p in changes.get("prompts", start.prompts)]
    config = replace(start, **changes)
    config.validate()
    return config


def starting_recipe(args: argparse.Namespace) -> TrainConfig:
    """The recipe a command starts from: `--recipe`, or the model tier's."""
    from .settings import named_recipe, recipe

    return named_recipe(args.recipe) if args.recipe else recipe(args.model)


def _refuse_unless(parser: argparse.ArgumentParser, args: argparse.Namespace, allowed: bool, flags: tuple[str, ...], why: str) -> None:
    """One clear error when any of `flags` was given where it cannot apply."""
    given = [flag(name) for name in flags if getattr(args, name, None) not in (None, False)]
    if given and not allowed:
        parser.error(f"{', '.join(given)} cannot apply: {why}")


def plan_check(args: argparse.Namespace) -> Plan:
    from .experiments import erasure_check

    config = recipe_from(args, starting_recipe(args))
    options = {
        "seeds": tuple(args.seeds or (0, 1, 2)),
        "image_seeds": tuple(args.image_seeds or (5000, 5001)),
        "sample_steps": args.sample_steps or 10,
        "cases_per_style": args.cases_per_style,
    }
    recorded = {"recipe": asdict(config), **options, "model": args.model}
    run = lambda: erasure_check(  # noqa: E731
        Path(args.work_dir), config=config, workers=args.workers, device=args.device, model_name=args.model, **options
    )
    return Plan("check", args.model, recorded, run, args.workers, args.device)


def plan_study(args: argparse.Namespace) -> Plan:
    from .experiments import run_study
    from .settings import recipe
    from .studies import MASK_SETTINGS, StudyConfig, quick_study

    study = quick_study() if args.quick else StudyConfig()
    if args.xt_source == "noise":  # the recipe on its own route (x_t takes no DDIM steps), where the mask sets are compared
        base = recipe_from(args, recipe(args.model, iterations=study.base.iterations))
        study = replace(study, base=base, settings=study.settings if args.quick else MASK_SETTINGS)
    else:
        study = replace(study, base=recipe_from(args, study.base))
    changes = {"settings": args.settings, "seeds": args.seeds and tuple(args.seeds), "cases_per_style": args.cases_per_style,
               "sample_steps": args.sample_steps, "scheduler": args.scheduler}  # fmt: skip
    study = replace(study, device=args.device, model=args.model, **{k: v for k, v in changes.items() if v})
    study.validate()
    run = lambda: run_study(study, Path(args.work_dir), workers=args.workers)  # noqa: E731
    return Plan("study", args.model, {**asdict(study), "base": asdict(study.base)}, run, args.workers, args.device)


def plan_attack(args: argparse.Namespace) -> Plan:
    from .attacks import VARIANTS, AttackStudy, run_attack_study
    from .inversion import InversionConfig

    study = AttackStudy(
        variants=args.variants or tuple(VARIANTS),
        seeds=tuple(args.seeds or (0, 1, 2)),
        inversion=InversionConfig(steps=args.attack_steps, batch_size=8),
        sample_steps=args.sample_steps or AttackStudy.sample_steps,
        iterations=args.iterations,
        noise_levels=args.noise_levels and tuple(args.noise_levels),
        cases_per_style=args.cases_per_style,
    )
    study.validate()
    run = lambda: run_attack_study(study, Path(args.work_dir), workers=args.workers)  # noqa: E731
    return Plan("attack", args.model, asdict(study), run, args.workers, args.device)


def plan_fidelity(args: argparse.Namespace) -> Plan:
    from .fidelity import fidelity_rows
    from .measure import IMAGE_SEED
    from .models import load_model
    from .settings import make_judge, style_suite

    suite = style_suite(args.model)
    if unknown := [split for split in args.splits if split not in suite.splits]:
        raise ValueError(f"--splits must come from {suite.splits}, got {unknown}")
    if not all(args.steps) or not all(args.guidance):
        raise ValueError(f"--steps and --guidance must be positive, got {args.steps} and {args.guidance}")
    cases = [case for case in suite.cases if case.split in args.splits]
    recorded = {"steps": args.steps, "guidance": args.guidance, "splits": args.splits, "image_seeds": [IMAGE_SEED]}

    def run() -> dict:
        model = load_model(args.model, device=args.device)
        rows = fidelity_rows(model, make_judge(args.model), cases, args.steps, args.guidance)
        return {"splits": args.splits, "image_seeds": [IMAGE_SEED], "rows": rows}

    return Plan("fidelity", args.model, recorded, run, 1, args.device)


PLANNERS = {"check": plan_check, "study": plan_study, "attack": plan_attack, "fidelity": plan_fidelity}


def plan(argv: list[str]) -> tuple[Plan, argparse.Namespace]:
    """Parse a results command and decide what it will run; bad values and flags that cannot apply fail here."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in PLANNERS:
        parser.error(f"{args.command!r} writes no results file; results commands are {tuple(PLANNERS)}")
    if args.command in ("check", "attack") and args.model not in ("toy", "tiny"):
        parser.error(f"{args.command} measures the toy world: --model must be toy or tiny, got {args.model!r}")
    if args.command == "study":
        _refuse_unless(parser, args, args.xt_source != "noise", ("ddim_steps",), "x_t from noise takes no DDIM steps")
    try:
        return PLANNERS[args.command](args), args
    except ValueError as error:
        parser.error(str(error))


def run_results_command(argv: list[str], preset: str | None = None) -> dict:
    """Plan, run and write one results file; the file records `python -m gridlib` and these arguments."""
    decided, args = plan(argv)
    started = time.time()
    measured = decided.run()
    command = "python -m gridlib " + shlex.join(argv)
    written = write_results(args.out, measured, command=command, config=decided.config, started=started, model=decided.model,
                            preset=preset, workers=decided.workers, device=decided.device)  # fmt: skip
    print(f"wrote {args.out} in {written['run']['wall_time_s']:.0f} s")
    return written


def reproduce(name: str | None, listing: bool) -> None:
    """Print every preset, or rewrite one preset's file with its command."""
    from .presets import PRESETS

    if listing or name is None:
        for key, preset in PRESETS.items():
            print(f"{key}\n    {preset.file}: {preset.measures}\n    about {preset.minutes} min on 2 CPU cores: "
                  f"python -m gridlib {shlex.join(preset.command)}")  # fmt: skip
        return
    if name not in PRESETS:
        raise SystemExit(f"unknown preset {name!r}; presets are {', '.join(PRESETS)}")
    preset = PRESETS[name]
    run_results_command([*preset.command, "--out", preset.file], preset=name)


def train(args: argparse.Namespace) -> None:
    from .models import load_model
    from .train import train_erasure

    config = recipe_from(args, starting_recipe(args))
    losses = train_erasure(load_model(args.model, device=args.device), config, args.out, resume=args.resume)
    print(f"{len(losses)} iterations, final loss {losses[-1]:.5f}; weights in {args.out}")


def main(argv: list[str] | None = None) -> None:
    """Run one command (see the module's docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and len(argv) > 1:  # the benchmark script parses its own flags
        script = ROOT / "benchmarks" / f"{argv[1]}.py"
        if argv[1] not in BENCHMARKS or not script.exists():
            raise SystemExit(f"bench takes one of {BENCHMARKS} from a clone of the repository (benchmarks/), got {argv[1]!r}")
        sys.argv = [str(script), *argv[2:]]
        runpy.run_path(str(script), run_name="__main__")
        return
    parser = build_parser()
    args = parser.parse_args(argv)  # every command's flags checked here; unknown ones are refused
    if args.command in PLANNERS:
        run_results_command(argv)
    elif args.command == "reproduce":
        reproduce(args.name, args.list)
    elif args.command == "train":
        try:
            train(args)
        except ValueError as error:
            parser.error(str(error))
    elif args.command == "book":
        from .book import build, screenshots

        build() if args.action == "build" else screenshots()
    else:
        parser.error("bench needs a script name, one of " + ", ".join(BENCHMARKS))
