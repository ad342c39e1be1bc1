"""Equal-compute ablations on the toy model: do grid masks help, and does the x_t source matter?

    python -m gridlib.experiments --out results/ablations.json            # the full study
    python -m gridlib.experiments --quick --out _build/ablations.json     # the book's small version
    python -m gridlib.experiments --settings seed,lr_3e-4,eta_1 --samples-per-style 64 --out results/recipe_sweep.json  # the recipe's neighbours

Every mask setting trains the same number of iterations on the same x_t route, so each does
exactly the same UNet forward and backward passes: a mask set only changes the weight map of
one MSE (see `masks.loss_weight_map`). The x_t comparison is run twice: at equal iterations, and
with the cheap "noise" route given as many iterations as make its UNet passes (counting a
backward as two forwards) equal to the "sample" route's expected cost.
"""

import argparse
import json
import math
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from .evaluate import TOY_GUIDANCE, ToyJudge, compare_models, style_rates, toy_suite
from .files import save_json
from .models import load_model
from .train import TrainConfig, recipe, train_erasure


@dataclass
class StudyConfig:
    """What the study trains and how it measures; the defaults are the full study."""

    base: TrainConfig = field(default_factory=lambda: recipe("toy"))
    settings: tuple[str, ...] = ("plain", "seed", "grid4", "grid5", "multiscale", "noise_equal_iterations", "noise_equal_passes")
    seeds: tuple[int, ...] = (0, 1, 2)
    samples_per_style: int = 32
    sample_steps: int = 20
    guidance: float = TOY_GUIDANCE


def noise_iterations_for_equal_passes(config: TrainConfig) -> int:
    """Iterations of the "noise" route that cost what `config`'s "sample" route costs, in UNet passes.

    A sample-route iteration runs on average (ddim_steps - 1) / 2 guided steps (2 forwards each),
    then 3 forwards and 1 backward; a noise-route iteration runs 3 forwards and 1 backward.
    A backward is counted as two forwards.
    """
    sample_cost = (config.ddim_steps - 1) + 3 + 2
    return round(config.iterations * sample_cost / (3 + 2))


# Each named setting is the base recipe with these fields changed. The first seven are the ablation
# study; the last three are the toy recipe's neighbours, measured to choose its lr, eta and length.
SETTINGS = {
    "plain": {"masks": "full"},
    "seed": {"masks": "seed"},
    "grid4": {"masks": "grid4"},
    "grid5": {"masks": "grid5"},
    "multiscale": {"masks": "multiscale"},
    "noise_equal_iterations": {"xt_source": "noise"},
    "noise_equal_passes": {"xt_source": "noise"},  # iterations set by noise_iterations_for_equal_passes
    "lr_3e-4": {"lr": 3e-4},
    "eta_1": {"negative_guidance": 1.0},
    "lr_2.5e-4_x400": {"lr": 2.5e-4, "iterations": 400},
}


def setting_config(name: str, base: TrainConfig) -> TrainConfig:
    """The training config of one named setting (see `SETTINGS`)."""
    if name not in SETTINGS:
        raise ValueError(f"setting must be one of {tuple(SETTINGS)}, got {name!r}")
    config = replace(base, **SETTINGS[name])
    if name == "noise_equal_passes":
        config = replace(config, iterations=noise_iterations_for_equal_passes(base))
    return config


def _hardware() -> str:
    """The machine a result was measured on, as recorded in results files."""
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def _summary(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def run_study(study: StudyConfig, work_dir: Path, progress: bool = True) -> dict:
    """Train every setting with every seed, measure held-out style rates, and summarise."""
    suite, judge, start = toy_suite(), ToyJudge(), time.time()

    def measure(model) -> dict[str, float]:
        return style_rates(model, judge, suite.heldout_prompts, study.samples_per_style, steps=study.sample_steps,
                           guidance=study.guidance, progress=False)  # fmt: skip

    baseline = measure(load_model("toy", device="cpu"))
    results = []
    for name in study.settings:
        runs = []
        for seed in study.seeds:
            config = replace(setting_config(name, study.base), seed=seed)
            model = load_model("toy", device="cpu")
            began = time.time()
            losses = train_erasure(model, config, work_dir / f"{name}_seed{seed}", progress=progress)
            train_s = time.time() - began
            rates = measure(model)
            passes = json.loads((work_dir / f"{name}_seed{seed}" / "metadata.json").read_text())["unet_passes"]
            others = [rates[s] for s in suite.styles if s != suite.target]
            runs.append({"seed": seed, "rates": rates, "erasure": rates[suite.target], "preservation": statistics.fmean(others),
                         "final_loss": statistics.fmean(losses[-10:]), "train_s": round(train_s, 1), "unet_passes": passes})  # fmt: skip
            if progress:
                print(f"{name} seed {seed}: erasure {rates[suite.target]:.2f}, preservation {runs[-1]['preservation']:.2f}, {train_s:.0f}s")
        results.append({
            "setting": name, "config": asdict(setting_config(name, study.base)), "runs": runs,
            "erasure": _summary([r["erasure"] for r in runs]), "preservation": _summary([r["preservation"] for r in runs]),
            "per_style": {s: _summary([r["rates"][s] for r in runs]) for s in suite.styles},
        })  # fmt: skip
    return {
        "study": {**asdict(study), "base": asdict(study.base)}, "target": suite.target, "baseline": baseline, "results": results,
        "wall_time_s": round(time.time() - start, 1),
        "hardware": _hardware(),
    }  # fmt: skip


def largest_drop(result: dict, entry: dict) -> tuple[str, float, float]:
    """The other style that lost most on average against the original model, its mean change over seeds,
    and the worst change of any other style in any seed; in points (negative: a drop)."""
    others = [style for style in result["baseline"] if style != result["target"]]
    drops = {s: [100 * (run["rates"][s] - result["baseline"][s]) for run in entry["runs"]] for s in others}
    style = min(others, key=lambda s: statistics.fmean(drops[s]))
    return style, statistics.fmean(drops[style]), min(min(d) for d in drops.values())


def results_table(result: dict) -> list[dict]:
    """One row per setting: erasure and preservation as mean +/- std over seeds, with cost and final loss."""
    rows = []
    for entry in result["results"]:
        runs = entry["runs"]
        style, mean_drop, worst_drop = largest_drop(result, entry)
        rows.append({
            "setting": entry["setting"], "masks": entry["config"]["masks"], "x_t": entry["config"]["xt_source"],
            "iterations": entry["config"]["iterations"], "seeds": len(runs),
            "erasure (VG rate, %)": f"{100 * entry['erasure']['mean']:.1f} ± {100 * entry['erasure']['std']:.1f}",
            "preservation (%)": f"{100 * entry['preservation']['mean']:.1f} ± {100 * entry['preservation']['std']:.1f}",
            "other styles: largest drop (points)": f"{style} {mean_drop:+.1f} (worst run {worst_drop:+.1f})",
            "UNet fwd / bwd per run": "{:.0f} / {:.0f}".format(*(statistics.fmean(r["unet_passes"][k] for r in runs) for k in ("forward", "backward"))),
            "final loss (mean of last 10)": f"{statistics.fmean(r['final_loss'] for r in runs):.4f}",
            "train s": f"{statistics.fmean(r['train_s'] for r in runs):.0f}",
        })  # fmt: skip
    return rows


def compare_settings(result: dict, first: str, second: str, metric: str = "erasure") -> dict:
    """How `second` differs from `first` on a metric, and whether seeds' spread can explain it.

    The difference of the mean rates (in points) is called resolved when it exceeds twice its
    standard error, sqrt(s1^2/n1 + s2^2/n2); otherwise the study cannot tell the two settings apart.
    """
    entries = {entry["setting"]: entry for entry in result["results"]}
    for name in (first, second):
        if name not in entries:
            raise ValueError(f"setting {name!r} is not in this result; it has {tuple(entries)}")
    runs = [[run[metric] for run in entries[name]["runs"]] for name in (first, second)]
    difference = 100 * (statistics.fmean(runs[1]) - statistics.fmean(runs[0]))
    error = 100 * math.sqrt(sum((statistics.variance(r) if len(r) > 1 else 0.0) / len(r) for r in runs))
    return {"metric": metric, "difference_points": round(difference, 1), "standard_error_points": round(error, 1),
            "resolved": abs(difference) > 2 * error}  # fmt: skip


def key_comparisons(result: dict) -> list[dict]:
    """The study's questions as rows: each grid against plain ESD-X, each noise route against sampling."""
    present = {entry["setting"] for entry in result["results"]}
    pairs = [("plain", grid) for grid in ("seed", "grid4", "grid5", "multiscale")]
    pairs += [("seed", noise) for noise in ("noise_equal_iterations", "noise_equal_passes")]
    rows = []
    for first, second in pairs:
        if {first, second} <= present:
            for metric in ("erasure", "preservation"):
                comparison = compare_settings(result, first, second, metric)
                rows.append({"setting": second, "against": first, "metric": metric,
                             "change (points)": f"{comparison['difference_points']:+.1f} ± {comparison['standard_error_points']:.1f}",
                             "beyond seed noise (> 2 s.e.)": "yes" if comparison["resolved"] else "no"})  # fmt: skip
    return rows


def quick_study() -> StudyConfig:
    """The `--quick` configuration: 2 settings, 1 seed, 40 iterations (chapter 5's default parameters)."""
    return StudyConfig(base=recipe("toy", iterations=40), settings=("plain", "seed"), seeds=(0,), samples_per_style=16)


def erasure_check(work_dir: Path, samples_per_style: int = 64, sample_steps: int = 20, guidance: float = TOY_GUIDANCE) -> dict:
    """The book's default toy erasure, timed, with before/after rates on training and held-out prompts."""
    original, erased, config = load_model("toy", device="cpu"), load_model("toy", device="cpu"), recipe("toy")
    began = time.time()
    losses = train_erasure(erased, config, work_dir / "erasure_check", progress=False)
    train_s = time.time() - began
    table = compare_models(original, erased, ToyJudge(), toy_suite(), samples_per_style, sample_steps, guidance)
    return {
        "config": asdict(config), "train_s": round(train_s, 1), "final_loss": statistics.fmean(losses[-10:]),
        "samples_per_style": samples_per_style, "sample_steps": sample_steps, "guidance": guidance,
        "table": table,
        "hardware": _hardware(),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="results JSON file to write")
    parser.add_argument("--quick", action="store_true", help="the book's small configuration")
    parser.add_argument("--erasure-check", action="store_true", help="only the default toy erasure, before/after")
    parser.add_argument("--settings", help=f"comma-separated settings instead of the study's seven, from {tuple(SETTINGS)}")
    parser.add_argument("--samples-per-style", type=int, help="held-out images per style per run (default 32)")
    parser.add_argument("--work-dir", default="runs/ablations", help="where each run's weights go")
    args = parser.parse_args(argv)
    if args.erasure_check:
        result = erasure_check(Path(args.work_dir))
        save_json(result, args.out)
        print(json.dumps(result["table"], indent=1), f"\ntrained in {result['train_s']}s")
        return
    study = quick_study() if args.quick else StudyConfig()
    if args.settings:
        study = replace(study, settings=tuple(args.settings.split(",")))
    if args.samples_per_style:
        study = replace(study, samples_per_style=args.samples_per_style)
    for name in study.settings:  # fail before hours of training, not after
        setting_config(name, study.base)
    result = run_study(study, Path(args.work_dir))
    save_json(result, args.out)
    print(f"wrote {args.out} in {result['wall_time_s']:.0f}s")


if __name__ == "__main__":
    main()
