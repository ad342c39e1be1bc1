"""Equal-compute ablations on the toy model: do grid masks help, and does the x_t source matter?

    python -m gridlib.experiments --out results/ablations.json            # the full study
    python -m gridlib.experiments --ddim-steps 20 --out results/ablations_ddim20.json  # the same with x_t in 20 DDIM steps
    python -m gridlib.experiments --xt-source noise --out results/ablations_noise.json  # the masks on the toy recipe itself
    python -m gridlib.experiments --quick --out _build/ablations.json     # the book's small version
    python -m gridlib.experiments --settings seed,lr_3e-4,eta_1 --ddim-steps 20 --samples-per-style 64 --sample-steps 20 \
        --out results/recipe_sweep.json                                   # the recipe's neighbours
    python -m gridlib.experiments --erasure-check --out results/toy_erasure.json  # the recipe, 3 seeds, both prompt splits
    python -m gridlib.experiments --settings seed,noise_equal_iterations --ddim-steps 20 --samples-per-style 64 \
        --sample-steps 20 --seeds 0,1,2,3,4,5,6,7 --device cuda --workers 16 \
        --out results/recipe_reliability.json                              # how often one run meets the targets (a GPU)

Every mask setting trains the same number of iterations on the same x_t route, so each does
exactly the same UNet forward and backward passes: a mask set only changes the weight map of
one MSE (see `masks.loss_weight_map`); two mask sets with the same weight map are one training, run
once (`same_training`). The x_t comparison is run twice: at equal iterations, and
with the cheap "noise" route given as many iterations as make its UNet passes (counting a
backward as two forwards) equal to the "sample" route's expected cost.
"""

import argparse
import json
import math
import multiprocessing
import platform
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .evaluate import TOY_GUIDANCE, ToyJudge, erasure_table, split_rates, style_rates, toy_suite
from .files import save_json
from .masks import loss_weight_map, mask_set
from .models import load_model
from .toyworld.world import IMAGE_SIZE
from .train import XT_SOURCES, TrainConfig, recipe, train_erasure


def study_recipe(**overrides) -> TrainConfig:
    """The recipe the study trains: the toy recipe on ESD's own x_t route, sampled in 10 DDIM steps.

    The study asks its questions where ESD asks them, on sampled x_t (SD1.4's recipe too); the toy
    recipe's noise route is one of its settings. Sampling x_t is most of a toy iteration's time on a
    CPU (about 70%: benchmarks/RESULTS.md), so 10 steps instead of 20 let the study's 18 trainings
    and 19 evaluations fit 30 minutes on 2 cores (28 measured). `--ddim-steps 20` runs it at 20 steps
    (47 minutes measured, before a fix that saves about 18 s of each run).
    """
    return recipe("toy", **{"xt_source": "sample", "ddim_steps": 10, **overrides})


MASK_SETTINGS = ("plain", "seed", "grid4", "grid5", "multiscale")
# What one toy erasure should reach: at most 10% of held-out Van Gogh images left, no other style more than 5 points lower.
MAX_ERASED_RATE, MAX_DROP_POINTS = 0.10, 5.0


@dataclass
class StudyConfig:
    """What the study trains and how it measures; the defaults are the full study."""

    base: TrainConfig = field(default_factory=study_recipe)
    settings: tuple[str, ...] = (*MASK_SETTINGS, "noise_equal_iterations", "noise_equal_passes")
    seeds: tuple[int, ...] = (0, 1, 2)
    samples_per_style: int = 32
    sample_steps: int = 10  # DDIM steps per evaluation image: half the erasure check's 20, and half its evaluation time
    guidance: float = TOY_GUIDANCE
    device: str = "cpu"  # where each run trains and samples; the judge runs on the CPU


def noise_iterations_for_equal_passes(config: TrainConfig) -> int:
    """Iterations of the "noise" route that cost what `config`'s "sample" route costs, in UNet passes.

    A sample-route iteration runs on average (ddim_steps - 1) / 2 guided steps (2 forwards each),
    then 3 forwards and 1 backward; a noise-route iteration runs 3 forwards and 1 backward.
    A backward is counted as two forwards.
    """
    sample_cost = (config.ddim_steps - 1) + 3 + 2
    return round(config.iterations * sample_cost / (3 + 2))


# Each named setting is the base recipe with these fields changed. The first seven are the ablation
# study; the rest are the toy recipe's neighbours on the sampling route, measured while choosing its
# lr, eta, length, sampler and x_t route (results/recipe_sweep*.json; and, on a GPU, 8 seeds each).
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
    "sampler_frozen": {"sampler": "frozen"},
    "ddim_15": {"ddim_steps": 15},
    "iterations_300": {"iterations": 300},
    "eta_3": {"negative_guidance": 3.0},
    "noise_100": {"xt_source": "noise", "iterations": 100},
}


def setting_config(name: str, base: TrainConfig) -> TrainConfig:
    """The training config of one named setting (see `SETTINGS`)."""
    if name not in SETTINGS:
        raise ValueError(f"setting must be one of {tuple(SETTINGS)}, got {name!r}")
    if name.startswith("noise_equal") and base.xt_source != "sample":
        raise ValueError(f"setting {name!r} compares the noise route with a base that samples x_t, got xt_source={base.xt_source!r}")
    config = replace(base, **SETTINGS[name])
    if name == "noise_equal_passes":
        config = replace(config, iterations=noise_iterations_for_equal_passes(base))
    return config


def same_training(settings: tuple[str, ...], base: TrainConfig, image_size: int = IMAGE_SIZE) -> dict[str, str]:
    """Settings that would repeat an earlier setting's training exactly: {setting: the earlier one}.

    A mask set enters training only through its loss weight map, so two settings whose configs
    differ only in mask sets with the same map train bit for bit alike: on the toy model's 32x32
    images a 4x4 grid of equal 8x8 cells weights every pixel 1/1024, as the full image does.
    """
    first_with: dict[tuple, str] = {}
    repeats = {}
    for name in settings:
        config = setting_config(name, base)
        weights = loss_weight_map(mask_set(config.masks, image_size, image_size))
        key = (json.dumps(asdict(replace(config, masks=""))), weights.numpy().tobytes())
        if key in first_with:
            repeats[name] = first_with[key]
        else:
            first_with[key] = name
    return repeats


def _hardware(workers: int = 1, device: str = "cpu") -> str:
    """The machine a result was measured on, and how its runs shared it, as recorded in results files."""
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    if torch.device(device).type == "cuda":
        machine += f", runs on {torch.cuda.get_device_name(device)}"
    return machine if workers == 1 else f"{machine}; {workers} runs side by side, 1 thread each"


def _summary(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def _held_out_rates(model, study: StudyConfig) -> dict[str, float]:
    """The toy judge's style rates on held-out prompts, as every run of the study measures them."""
    return style_rates(model, ToyJudge(), toy_suite().heldout_prompts, study.samples_per_style, steps=study.sample_steps,
                       guidance=study.guidance, progress=False)  # fmt: skip


def _timed_training(model, config: TrainConfig, out_dir: Path) -> dict:
    """Train `model` in place; the run's wall time and its final loss (the mean of the last 10)."""
    began = time.time()
    losses = train_erasure(model, config, out_dir, progress=False)
    return {"train_s": round(time.time() - began, 1), "final_loss": statistics.fmean(losses[-10:])}


def _train_and_measure(name: str, seed: int, study: StudyConfig, work_dir: Path) -> dict:
    """One run of the study: erase from a fresh toy model with one setting and seed, then measure it.

    The measurement is also saved beside the run's weights (`measurement.json`), so the runs that
    finished are kept even when a long study is stopped.
    """
    config, run_dir = replace(setting_config(name, study.base), seed=seed), work_dir / f"{name}_seed{seed}"
    model = load_model("toy", device=study.device)
    training = _timed_training(model, config, run_dir)
    rates = _held_out_rates(model, study)
    passes = json.loads((run_dir / "metadata.json").read_text())["unet_passes"]
    target = toy_suite().target
    others = [rate for style, rate in rates.items() if style != target]
    measurement = {"seed": seed, "rates": rates, "erasure": rates[target], "preservation": statistics.fmean(others), **training,
                   "unet_passes": passes}  # fmt: skip
    save_json({"setting": name, **measurement}, run_dir / "measurement.json")
    return measurement


def map_runs(function: Callable, jobs: list[tuple], workers: int = 1, progress: bool = True, desc: str = "runs") -> list:
    """`[function(*job) for job in jobs]`, in order; with `workers` > 1, in that many single-threaded processes.

    Every run draws from its own seeds, so the results are those of running one after another
    (up to float rounding, which can differ between thread counts). On this project's 2-core
    machine two single-threaded runs side by side were no faster than one two-threaded run after
    another (the recipe's 200 iterations: two runs side by side took about 140 s, one run on both
    cores 65 to 75 s), so one at a time is the default; more cores may differ.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress)
    if workers == 1:
        results = []
        for job in jobs:
            results.append(function(*job))
            bar.update(1)
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=torch.set_num_threads,
                                 initargs=(1,)) as pool:  # fmt: skip
            futures = [pool.submit(function, *job) for job in jobs]
            for _ in as_completed(futures):
                bar.update(1)
            results = [future.result() for future in futures]
    bar.close()
    return results


def run_study(study: StudyConfig, work_dir: Path, progress: bool = True, workers: int = 1) -> dict:
    """Train every setting with every seed, measure held-out style rates, and summarise.

    A setting that would repeat another's training exactly (see `same_training`) is not trained
    again: it reports that setting's runs, and says so in `same_training_as`.
    `workers` > 1 trains that many runs side by side (see `map_runs`).
    """
    start = time.time()
    repeats = same_training(study.settings, study.base)
    # seed by seed, so that a stopped study has kept (see `_train_and_measure`) every setting's first seeds
    keys = [(name, seed) for seed in study.seeds for name in study.settings if name not in repeats]
    measured = map_runs(_train_and_measure, [(name, seed, study, work_dir) for name, seed in keys], workers, progress, "study runs")
    runs = dict(zip(keys, measured))
    baseline = _held_out_rates(load_model("toy", device=study.device), study)
    results = []
    for name in study.settings:
        setting_runs = [runs[repeats.get(name, name), seed] for seed in study.seeds]
        results.append({
            "setting": name, "same_training_as": repeats.get(name), "config": asdict(setting_config(name, study.base)), "runs": setting_runs,
            "erasure": _summary([r["erasure"] for r in setting_runs]),
            "preservation": _summary([r["preservation"] for r in setting_runs]),
            "per_style": {style: _summary([r["rates"][style] for r in setting_runs]) for style in baseline},
        })  # fmt: skip
    return {
        "study": {**asdict(study), "base": asdict(study.base)}, "target": toy_suite().target, "baseline": baseline,
        "results": results, "wall_time_s": round(time.time() - start, 1), "workers": workers,
        "hardware": _hardware(workers, study.device),
    }  # fmt: skip


def study_label(result: dict) -> str:
    """Where a study's runs got their x_t, in words: a results file's base config, as the book labels it."""
    base = result["study"]["base"]
    if base["xt_source"] == "noise":
        return "x_t from noise (the toy recipe)"
    return f"x_t sampled in {base['ddim_steps']} DDIM steps (ESD's route)"


def style_changes(result: dict, run: dict) -> dict[str, float]:
    """Each other style's change in one run against the original model, in points (negative: a drop)."""
    return {style: 100 * (run["rates"][style] - before) for style, before in result["baseline"].items() if style != result["target"]}


def largest_drop(result: dict, entry: dict) -> tuple[str, float, float]:
    """The other style that lost most on average against the original model, its mean change over seeds,
    and the worst change of any other style in any seed; in points (negative: a drop)."""
    changes = [style_changes(result, run) for run in entry["runs"]]
    means = {style: statistics.fmean(change[style] for change in changes) for style in changes[0]}
    style = min(means, key=means.get)
    return style, means[style], min(min(change.values()) for change in changes)


def meets_targets(result: dict, run: dict) -> bool:
    """Whether one run reached the book's targets for a toy erasure (`MAX_ERASED_RATE`, `MAX_DROP_POINTS`)."""
    worst = min(round(change, 6) for change in style_changes(result, run).values())
    return run["rates"][result["target"]] <= MAX_ERASED_RATE and worst >= -MAX_DROP_POINTS


def results_table(result: dict) -> list[dict]:
    """One row per setting: erasure and preservation as mean +/- std over seeds, with cost and final loss."""
    rows = []
    for entry in result["results"]:
        runs = entry["runs"]
        style, mean_drop, worst_drop = largest_drop(result, entry)
        repeated = f" (= {entry['same_training_as']}: same weight map, trained once)" if entry.get("same_training_as") else ""
        rows.append({
            "setting": entry["setting"] + repeated, "masks": entry["config"]["masks"], "x_t": entry["config"]["xt_source"],
            "iterations": entry["config"]["iterations"], "seeds": len(runs),
            "erasure (VG rate, %)": f"{100 * entry['erasure']['mean']:.1f} ± {100 * entry['erasure']['std']:.1f}",
            "preservation (%)": f"{100 * entry['preservation']['mean']:.1f} ± {100 * entry['preservation']['std']:.1f}",
            "other styles: largest drop (points)": f"{style} {mean_drop:+.1f} (worst single run of any style {worst_drop:+.1f})",
            "runs meeting the targets": f"{sum(meets_targets(result, run) for run in runs)} of {len(runs)}",
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
    trained_as = {entry["setting"]: entry.get("same_training_as") or entry["setting"] for entry in result["results"]}
    rows = []
    for first, second in pairs:
        if {first, second} <= present:
            for metric in ("erasure", "preservation"):
                comparison = compare_settings(result, first, second, metric)
                verdict = "yes" if comparison["resolved"] else "no"
                if trained_as[first] == trained_as[second]:
                    verdict = "same training"
                rows.append({"setting": second, "against": first, "metric": metric,
                             "change (points)": f"{comparison['difference_points']:+.1f} ± {comparison['standard_error_points']:.1f}",
                             "beyond seed noise (> 2 s.e.)": verdict})  # fmt: skip
    return rows


def quick_study() -> StudyConfig:
    """The `--quick` configuration: 2 settings, 1 seed, 40 iterations (chapter 5's default parameters)."""
    return StudyConfig(base=study_recipe(iterations=40), settings=("plain", "seed"), seeds=(0,), samples_per_style=16)


def _recipe_run(config: TrainConfig, seed: int | None, samples_per_style: int, sample_steps: int, guidance: float,
                work_dir: Path) -> dict:
    """Style rates on both splits of the original toy model (seed None), or of `config`'s erasure trained with `seed`."""
    model, run = load_model("toy", device="cpu"), {"seed": seed}
    if seed is not None:
        run.update(_timed_training(model, replace(config, seed=seed), work_dir / f"erasure_check_seed{seed}"))
    run["rates"] = split_rates(model, ToyJudge(), toy_suite(), samples_per_style, sample_steps, guidance)
    return run


def mean_over_seeds(tables: list[list[dict]]) -> list[dict]:
    """One `erasure_table` from several seeds' tables: mean `after` and `change_points`, and the worst seed's change."""
    table = []
    for rows in zip(*tables, strict=True):
        changes = [row["change_points"] for row in rows]
        table.append({**rows[0], "after": statistics.fmean(row["after"] for row in rows), "change_points": round(statistics.fmean(changes), 1),
                      "worst_change_points": max(changes) if rows[0]["role"] == "erased" else min(changes)})  # fmt: skip
    return table


def erasure_check(work_dir: Path, seeds: tuple[int, ...] = (0, 1, 2), samples_per_style: int = 64, sample_steps: int = 20,
                  guidance: float = TOY_GUIDANCE, workers: int = 1, progress: bool = True, config: TrainConfig | None = None) -> dict:
    """The book's default toy erasure (`config`, default `recipe("toy")`), trained once per seed: before/after
    rates on training and held-out prompts.

    The table's `after` and `change_points` are means over the seeds; `worst_change_points` is the
    worst seed's change (the highest for the erased style, the lowest for the others), because one
    training run can land well away from the mean.
    """  # fmt: skip
    config = config or recipe("toy")
    jobs = [(config, seed, samples_per_style, sample_steps, guidance, work_dir) for seed in (None, *seeds)]
    original, *erased = map_runs(_recipe_run, jobs, workers, progress, "erasure check")
    table = mean_over_seeds([erasure_table(original["rates"], run["rates"], toy_suite().target) for run in erased])
    return {
        "config": asdict(config), "seeds": list(seeds), "train_s": max(run["train_s"] for run in erased),
        "runs": erased, "samples_per_style": samples_per_style, "sample_steps": sample_steps, "guidance": guidance,
        "table": table, "workers": workers,
        "hardware": _hardware(workers),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="results JSON file to write")
    parser.add_argument("--quick", action="store_true", help="the book's small configuration")
    parser.add_argument("--erasure-check", action="store_true", help="only the default toy erasure, before/after")
    parser.add_argument("--settings", help=f"comma-separated settings instead of the study's seven, from {tuple(SETTINGS)}")
    parser.add_argument("--samples-per-style", type=int, help="held-out images per style per run (default 32)")
    parser.add_argument("--ddim-steps", type=int, help="DDIM steps to sample x_t (default 10)")
    parser.add_argument("--xt-source", choices=XT_SOURCES, help="x_t route of the study's base (default sample; noise is the "
                        "toy recipe's route, where the study compares the mask settings)")
    parser.add_argument("--sample-steps", type=int, help="DDIM steps per evaluation image (default 10)")
    parser.add_argument("--seeds", help="comma-separated training seeds (default 0,1,2)")
    parser.add_argument("--device", default="cpu", help="where runs train and sample (default cpu); the judge runs on the CPU")
    parser.add_argument("--work-dir", default="runs/ablations", help="where each run's weights go")
    parser.add_argument("--workers", type=int, default=1, help="runs side by side, one thread each (default 1: one after another)")
    args = parser.parse_args(argv)
    if args.erasure_check:
        result = erasure_check(Path(args.work_dir), workers=args.workers)
        save_json(result, args.out)
        print(json.dumps(result["table"], indent=1), f"\ntrained in {result['train_s']}s")
        return
    study = quick_study() if args.quick else StudyConfig()
    if args.settings:
        study = replace(study, settings=tuple(args.settings.split(",")))
    if args.samples_per_style:
        study = replace(study, samples_per_style=args.samples_per_style)
    if args.sample_steps is not None:
        if args.sample_steps < 1:
            parser.error(f"--sample-steps must be a positive integer, got {args.sample_steps}")
        study = replace(study, sample_steps=args.sample_steps)
    if args.xt_source == "noise":  # the toy recipe itself, whose x_t takes no DDIM steps
        if args.ddim_steps is not None:
            parser.error(f"--ddim-steps sets how x_t is sampled; it does not apply with --xt-source noise, got {args.ddim_steps}")
        study = replace(study, base=recipe("toy", iterations=study.base.iterations))
        if not args.settings:
            study = replace(study, settings=MASK_SETTINGS)
    elif args.ddim_steps is not None:
        study = replace(study, base=replace(study.base, ddim_steps=args.ddim_steps))
    if args.seeds:
        seeds = args.seeds.split(",")
        if not all(seed.isdigit() for seed in seeds):
            parser.error(f"--seeds must be comma-separated non-negative integers, got {args.seeds!r}")
        study = replace(study, seeds=tuple(int(seed) for seed in seeds))
    try:
        torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device must be a torch device such as cpu or cuda, got {args.device!r}")
    study = replace(study, device=args.device)
    for name in study.settings:  # fail before hours of training, not after
        setting_config(name, study.base).validate()
    result = run_study(study, Path(args.work_dir), workers=args.workers)
    save_json(result, args.out)
    print(f"wrote {args.out} in {result['wall_time_s']:.0f}s")


if __name__ == "__main__":
    main()
