"""Studies on the toy model (or any model): train many erasures, measure each, write one results file.

    python -m gridlib.experiments --workers 2 --out results/ablations.json          # the full study
    python -m gridlib.experiments --ddim-steps 20 --workers 2 --out results/ablations_ddim20.json  # the same with x_t in 20 DDIM steps
    python -m gridlib.experiments --xt-source noise --settings full,grid3_center,grid4,grid5,multiscale,difference_1,difference_3,\
        adaptive_grid_1,adaptive_grid_3,attention_1,attention_3 --seeds 0,1,2,3,4 --workers 2 \
        --out results/masks_noise.json                                       # masks and concept maps on the toy recipe itself
    python -m gridlib.experiments --quick --out _build/ablations.json     # the book's small version
    python -m gridlib.experiments --settings grid3_center,lr_3e-4,eta_1 --ddim-steps 20 --samples-per-style 64 \
        --sample-steps 20 --out results/toy_v1/recipe_sweep.json                 # the recipe's neighbours
    python -m gridlib.experiments --erasure-check --out results/toy_erasure.json  # the recipe, 3 seeds, both prompt splits
    python -m gridlib.experiments --settings grid3_center,noise_equal_iterations --ddim-steps 20 \
        --seeds 0,1,2,3,4,5,6,7 --workers 2 --out results/recipe_reliability.json  # how often one run meets the targets, on each route
    (the same with --samples-per-style 64 --sample-steps 20 --out results/recipe_reliability_eval20.json judges at 20 DDIM steps)

What each setting trains is `gridlib.studies`; the tables the book makes of a results file are
`gridlib.report`.
"""

import argparse
import functools
import json
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from . import scorecard
from .files import save_json
from .models import load_model
from .prompts import PromptCase
from .report import content_counts, summary
from .runs import hardware, map_runs, timed_training, toy_weights_id
from .scorecard import add_distances, judge_cases, sample_cases
from .settings import TOY, make_judge, recipe, style_suite, tier_settings
from .studies import MASK_SETTINGS, SETTINGS, StudyConfig, quick_study, same_training, setting_config
from .toyworld.prompts import leak_cases
from .train import XT_SOURCES, TrainConfig

STUDY_IMAGE_SEED = 5000  # every run of a study, and the original, makes each evaluation image from this seed


@functools.lru_cache(maxsize=1)
def _judge(model_name: str, judge: str | None, device: str):
    """The study's judge, made once per process: CLIP ViT-L/14 would otherwise load again for every run."""
    return make_judge(model_name, judge, device)


def _held_out_scores(model, study: StudyConfig) -> tuple[dict[str, float], dict[str, float]]:
    """What every run of the study measures on held-out prompts: each style's rate (the share of its images
    the judge calls that style) and, where the judge sees content, how often it finds the requested shape
    and colour (both checks pooled). Up to `samples_per_style` cases per style, stratified by phrasing, one image each."""
    held_out = [case for case in style_suite(study.model).cases if case.split == "heldout"]
    records, _ = judge_cases(
        model,
        _judge(study.model, study.judge, study.device),
        sample_cases(held_out, study.samples_per_style),
        (STUDY_IMAGE_SEED,),
        study.sample_steps,
        study.guidance,
        batch_size=tier_settings(study.model).batch_size,
        progress=False,
    )
    rows = scorecard.rates(records, by=("style",))
    rates = {row["style"]: row["style_match"][0] / row["style_match"][1] for row in rows}
    counts = {row["style"]: content_counts(row) for row in rows}
    content = {style: hits / trials for style, (hits, trials) in counts.items() if trials}
    return rates, content


def _train_and_measure(name: str, seed: int, study: StudyConfig, work_dir: Path) -> dict:
    """One run of the study: erase from a fresh toy model with one setting and seed, then measure it.

    The measurement is also saved beside the run's weights (`measurement.json`), so the runs that
    finished are kept even when a long study is stopped.
    """
    config, run_dir = replace(setting_config(name, study.base), seed=seed), work_dir / f"{name}_seed{seed}"
    model = load_model(study.model, device=study.device)
    training = timed_training(model, config, run_dir)
    rates, content = _held_out_scores(model, study)
    passes = json.loads((run_dir / "metadata.json").read_text())["unet_passes"]
    target = style_suite(study.model).target
    others = [rate for style, rate in rates.items() if style != target]
    measurement = {
        "seed": seed,
        "rates": rates,
        "content": content,
        "erasure": rates[target],
        "preservation": statistics.fmean(others),
        **training,
        "unet_passes": passes,
    }
    save_json({"setting": name, **measurement}, run_dir / "measurement.json")
    return measurement


def run_study(study: StudyConfig, work_dir: Path, progress: bool = True, workers: int = 1) -> dict:
    """Train every setting with every seed, measure held-out style rates, and summarise.

    A setting that would repeat another's training exactly (see `same_training`) is not trained
    again: it reports that setting's runs, and says so in `same_training_as`.
    `workers` > 1 trains that many runs side by side (see `map_runs`).
    """
    study.validate()
    start = time.time()
    original = load_model(study.model, device=study.device)
    (baseline, baseline_content), size = _held_out_scores(original, study), original.latent_shape[1:]
    del original
    repeats = same_training(study.settings, study.base, size)
    # seed by seed, so that a stopped study has kept (see `_train_and_measure`) every setting's first seeds
    keys = [(name, seed) for seed in study.seeds for name in study.settings if name not in repeats]
    measured = map_runs(_train_and_measure, [(name, seed, study, work_dir) for name, seed in keys], workers, progress, "study runs")
    runs = dict(zip(keys, measured, strict=True))
    results = []
    for name in study.settings:
        setting_runs = [runs[repeats.get(name, name), seed] for seed in study.seeds]
        results.append(
            {
                "setting": name,
                "same_training_as": repeats.get(name),
                "config": asdict(setting_config(name, study.base)),
                "runs": setting_runs,
                "erasure": summary([r["erasure"] for r in setting_runs]),
                "preservation": summary([r["preservation"] for r in setting_runs]),
                "per_style": {style: summary([r["rates"][style] for r in setting_runs]) for style in baseline},
                "content": {style: summary([r["content"][style] for r in setting_runs]) for style in baseline_content},
            }
        )
    return {
        "study": {**asdict(study), "base": asdict(study.base)},
        "target": style_suite(study.model).target,
        "baseline": baseline,
        "baseline_content": baseline_content,
        "results": results,
        "wall_time_s": round(time.time() - start, 1),
        "workers": workers,
        "hardware": hardware(workers, study.device),
        "toy_weights": toy_weights_id() if study.model == "toy" else None,
    }


def _recipe_run(
    config: TrainConfig,
    seed: int | None,
    cases: list[PromptCase],
    image_seeds: tuple[int, ...],
    sample_steps: int,
    guidance: float,
    work_dir: Path,
    device: str,
) -> dict:
    """`cases` judged on the original toy model (seed None), or on `config`'s erasure trained with `seed`."""
    model, run = load_model("toy", device=device), {"seed": seed}
    if seed is not None:
        run.update(timed_training(model, replace(config, seed=seed), work_dir / f"erasure_check_seed{seed}"))
    run["records"], run["features"] = judge_cases(
        model, _judge("toy", None, "cpu"), cases, image_seeds, sample_steps, guidance, progress=False
    )
    return run


def erasure_check(
    work_dir: Path,
    seeds: tuple[int, ...] = (0, 1, 2),
    image_seeds: tuple[int, ...] = (5000, 5001),
    sample_steps: int = 10,
    guidance: float = TOY.guidance,
    workers: int = 1,
    progress: bool = True,
    config: TrainConfig | None = None,
    device: str = "cpu",
    prompts_per_style: int | None = None,
) -> dict:
    """The book's default toy erasure (`config`, default `recipe("toy")`), trained once per seed, and the
    original model: every evaluation case (all splits, and the named artworks; `prompts_per_style` of
    each split and style for a smaller check) on `image_seeds`, judged for style, shape and colour; per
    run, the rows of `scorecard.compare`, the targets, and the rates of each phrasing and of each object asked for.
    """
    start, config = time.time(), config or recipe("toy")
    cases = sample_cases(style_suite("toy").cases + leak_cases(), prompts_per_style)
    jobs = [(config, seed, cases, tuple(image_seeds), sample_steps, guidance, work_dir, device) for seed in (None, *seeds)]
    original, *erased = map_runs(_recipe_run, jobs, workers, progress, "erasure check")
    by_phrasing, by_object = ("split", "style", "phrasing"), ("split", "style", "object")
    for run in erased:
        add_distances(original["records"], run["records"], original["features"], run["features"])
        run["rows"] = scorecard.compare(original["records"], run["records"], style_suite("toy").target)
        run["targets"] = scorecard.targets(run["rows"])
        run["by_phrasing"], run["by_object"] = (scorecard.rates(run["records"], by) for by in (by_phrasing, by_object))
        del run["records"], run["features"]
    return {
        "config": asdict(config),
        "seeds": list(seeds),
        "image_seeds": list(image_seeds),
        "prompts_per_style": prompts_per_style,
        "sample_steps": sample_steps,
        "guidance": guidance,
        "original_by_phrasing": scorecard.rates(original["records"], by_phrasing),
        "original_by_object": scorecard.rates(original["records"], by_object),
        "runs": erased,
        "wall_time_s": round(time.time() - start, 1),
        "workers": workers,
        "hardware": hardware(workers, device),
        "toy_weights": toy_weights_id(),
    }


def _seeds(text: str) -> tuple[int, ...] | None:
    """'0,1,2' as (0, 1, 2); None when any part is not a non-negative integer."""
    parts = text.split(",")
    return tuple(int(part) for part in parts) if all(part.isdigit() for part in parts) else None


def main(argv: list[str] | None = None) -> None:
    """The study (or, with --erasure-check, the recipe's before/after check); every flag takes effect or is refused."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="results JSON file to write")
    parser.add_argument("--quick", action="store_true", help="the book's small configuration")
    parser.add_argument("--erasure-check", action="store_true", help="only the default toy erasure, before/after")
    parser.add_argument("--settings", help=f"comma-separated settings instead of the study's seven, from {tuple(SETTINGS)}")
    parser.add_argument(
        "--samples-per-style", type=int, help="held-out cases per style per run, one image each (default 72: every case; photos: 24)"
    )
    parser.add_argument("--ddim-steps", type=int, help="DDIM steps to sample x_t (default 10)")
    parser.add_argument(
        "--xt-source",
        choices=XT_SOURCES,
        help="x_t route of the study's base (default sample; noise is the toy recipe's route, where the study compares the mask settings)",
    )
    parser.add_argument("--sample-steps", type=int, help="DDIM steps per evaluation image (default 10)")
    parser.add_argument("--seeds", help="comma-separated training seeds (default 0,1,2)")
    parser.add_argument("--device", default="cpu", help="where runs train and sample (default cpu); the judge runs on the CPU")
    parser.add_argument("--work-dir", default="runs/ablations", help="where each run's weights go")
    parser.add_argument("--workers", type=int, default=1, help="runs side by side, one thread each (default 1: one after another)")
    args = parser.parse_args(argv)
    for flag in ("samples_per_style", "sample_steps", "ddim_steps"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"--{flag.replace('_', '-')} must be a positive integer, got {value}")
    if args.workers < 1:
        parser.error(f"--workers must be a positive integer, got {args.workers}")
    seeds = _seeds(args.seeds) if args.seeds else (0, 1, 2)
    if seeds is None:
        parser.error(f"--seeds must be comma-separated non-negative integers, got {args.seeds!r}")
    try:
        torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device must be a torch device such as cpu or cuda, got {args.device!r}")
    if args.erasure_check:
        ignored = [
            f"--{name.replace('_', '-')}"
            for name in ("quick", "settings", "ddim_steps", "xt_source", "samples_per_style")
            if getattr(args, name)
        ]
        if ignored:
            parser.error(f"--erasure-check trains the toy recipe as it is; it does not take {', '.join(ignored)}")
        result = erasure_check(
            Path(args.work_dir),
            seeds=seeds,
            sample_steps=args.sample_steps or 10,
            workers=args.workers,
            device=args.device,
        )
        save_json(result, args.out)
        print(json.dumps([run["targets"] for run in result["runs"]], indent=1))
        return
    if args.xt_source == "noise" and args.ddim_steps is not None:
        parser.error(f"--ddim-steps sets how x_t is sampled; it does not apply with --xt-source noise, got {args.ddim_steps}")
    study = study_from_args(args, seeds)
    for name in study.settings:  # fail before hours of training, not after
        try:
            setting_config(name, study.base).validate()
        except ValueError as error:
            parser.error(str(error))
    result = run_study(study, Path(args.work_dir), workers=args.workers)
    save_json(result, args.out)
    print(f"wrote {args.out} in {result['wall_time_s']:.0f}s")


def study_from_args(args: argparse.Namespace, seeds: tuple[int, ...]) -> StudyConfig:
    """The StudyConfig that the command line asks for (flags already checked by `main`)."""
    study = quick_study() if args.quick else StudyConfig()
    study = replace(study, seeds=seeds if args.seeds else study.seeds, device=args.device)
    if args.settings:
        study = replace(study, settings=tuple(args.settings.split(",")))
    if args.samples_per_style:
        study = replace(study, samples_per_style=args.samples_per_style)
    if args.sample_steps:
        study = replace(study, sample_steps=args.sample_steps)
    if args.xt_source == "noise":  # the toy recipe itself, whose x_t takes no DDIM steps
        study = replace(study, base=recipe("toy", iterations=study.base.iterations))
        if not args.settings:
            study = replace(study, settings=MASK_SETTINGS)
    elif args.ddim_steps is not None:
        study = replace(study, base=replace(study.base, ddim_steps=args.ddim_steps))
    return study


if __name__ == "__main__":
    main()
