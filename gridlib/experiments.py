"""Studies and the erasure check: train many erasures, measure each, return one results dict.

A *study* trains every named setting (`gridlib.studies`) with several seeds and measures each run on
held-out prompts. The *erasure check* trains one recipe with several seeds and judges every evaluation
case before and after. `python -m gridlib study` and `python -m gridlib check` run them and write the
results file (`gridlib.results`); the book's tables read it (`study_tables`, `check_tables`).
"""

import functools
import json
import statistics
from dataclasses import asdict, replace
from pathlib import Path

from . import measure
from .files import save_json
from .measure import IMAGE_SEED, add_distances, content_counts, judge_cases, sample_cases
from .models import load_model
from .prompts import PromptCase
from .runs import map_runs, timed_training
from .settings import TOY, make_judge, recipe, style_suite, tier_settings
from .stats import summary
from .studies import StudyConfig, same_training, setting_config
from .toyworld.prompts import leak_cases
from .train import TrainConfig


@functools.lru_cache(maxsize=1)
def _judge(model_name: str, judge: str | None, device: str):
    """The study's judge, made once per process: CLIP ViT-L/14 would otherwise load again for every run."""
    return make_judge(model_name, judge, device)


def _held_out_scores(model, study: StudyConfig) -> tuple[dict[str, float], dict[str, float]]:
    """What every run of the study measures on held-out prompts: each style's rate (the share of its images
    the judge calls that style) and, where the judge sees content, how often it finds the requested shape
    and colour (both checks pooled). Up to `cases_per_style` cases per style, stratified by phrasing, one image each."""
    held_out = [case for case in style_suite(study.model).cases if case.split == "heldout"]
    records, _ = judge_cases(
        model,
        _judge(study.model, study.judge, study.device),
        sample_cases(held_out, study.cases_per_style),
        (IMAGE_SEED,),
        study.sample_steps,
        study.guidance,
        batch_size=tier_settings(study.model).batch_size,
        progress=False,
        scheduler=study.scheduler,
    )
    rows = measure.rates(records, by=("style",))
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
        "target_left": rates[target],
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
                "target_left": summary([r["target_left"] for r in setting_runs]),
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
    model_name: str,
) -> dict:
    """`cases` judged on the original model (seed None), or on `config`'s erasure trained with `seed`."""
    model, run = load_model(model_name, device=device), {"seed": seed}
    if seed is not None:
        run.update(timed_training(model, replace(config, seed=seed), work_dir / f"erasure_check_seed{seed}"))
    run["records"], run["features"] = judge_cases(
        model, _judge(model_name, None, "cpu"), cases, image_seeds, sample_steps, guidance, progress=False
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
    cases_per_style: int | None = None,
    model_name: str = "toy",
) -> dict:
    """The book's default toy erasure (`config`, default `recipe("toy")`), trained once per seed, and the
    original model: every evaluation case (all splits, and the named artworks; `cases_per_style` of
    each split and style for a smaller check) on `image_seeds`, judged for style, shape and colour; per
    run, the rows of `measure.compare`, the targets, and the rates of each phrasing and of each object asked for.
    The toy world's check: `model_name` is "toy", or "tiny" for tests.
    """
    if model_name not in ("toy", "tiny"):
        raise ValueError(f"the erasure check judges the toy world: model_name must be 'toy' or 'tiny', got {model_name!r}")
    config = config or recipe(model_name)
    cases = sample_cases(style_suite(model_name).cases + leak_cases(), cases_per_style)
    jobs = [(config, seed, cases, tuple(image_seeds), sample_steps, guidance, work_dir, device, model_name) for seed in (None, *seeds)]
    original, *erased = map_runs(_recipe_run, jobs, workers, progress, "erasure check")
    by_phrasing, by_object = ("split", "style", "phrasing"), ("split", "style", "object")
    for run in erased:
        add_distances(original["records"], run["records"], original["features"], run["features"])
        run["rows"] = measure.compare(original["records"], run["records"], style_suite("toy").target)
        run["targets"] = measure.targets(run["rows"])
        run["by_phrasing"], run["by_object"] = (measure.rates(run["records"], by) for by in (by_phrasing, by_object))
        del run["records"], run["features"]
    return {
        "config": asdict(config),
        "seeds": list(seeds),
        "image_seeds": list(image_seeds),
        "cases_per_style": cases_per_style,
        "sample_steps": sample_steps,
        "guidance": guidance,
        "original_by_phrasing": measure.rates(original["records"], by_phrasing),
        "original_by_object": measure.rates(original["records"], by_object),
        "runs": erased,
    }
