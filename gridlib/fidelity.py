"""Does the original model follow its prompts, and does that depend on how its pictures are sampled?

A diffusion model's pictures depend on the sampler as well as on the weights: on the number of DDIM
steps and on the guidance scale. Every erasure is judged against the original model's own fidelity,
so the book first measures that fidelity under each sampler setting: how often the judge agrees
with the prompt's style, shape and colour, per split and style, as counts (the tables add intervals).

    python -m gridlib fidelity --steps 10,20,50 --guidance 1.5,2.5 --out results/toy_fidelity.json
"""

from collections.abc import Sequence
from itertools import product

from .measure import IMAGE_SEED, MEASURES, content_counts, judge_cases, rates
from .models import DiffusionModel
from .prompts import PromptCase


def fidelity_rows(
    model: DiffusionModel,
    judge,
    cases: Sequence[PromptCase],
    steps: Sequence[int],
    guidances: Sequence[float],
    image_seeds: Sequence[int] = (IMAGE_SEED,),
    progress: bool = True,
) -> list[dict]:
    """For every (steps, guidance): every case on every image seed, judged; one row per split and style
    with `measure.rates`' counts, and the setting that made it."""
    rows = []
    for step_count, guidance in product(steps, guidances):
        records, _ = judge_cases(model, judge, cases, image_seeds, step_count, guidance, progress=progress)
        rows += [{"sample_steps": step_count, "guidance": guidance, **row} for row in rates(records)]
    return rows


def weakest(rows: list[dict], measure: str = "style") -> dict[tuple[int, float], tuple[str, tuple[int, int]]]:
    """For each sampler setting, the style whose prompts the judge agreed with least often on `measure` (style,
    shape, colour, or content: shape and colour together), with its (successes, trials); pooled over the splits in `rows`."""
    if measure not in (*MEASURES, "content"):
        raise ValueError(f"measure must be one of {(*MEASURES, 'content')}, got {measure!r}")
    weakest_of = {}
    for setting, by_style in counts_by_setting(rows, measure).items():
        checked = {style: counts for style, counts in by_style.items() if counts[1]}
        if checked:  # a setting with no checked images (shape on unseen prompts) has no weakest style
            style = min(checked, key=lambda name: checked[name][0] / checked[name][1])
            weakest_of[setting] = (style, checked[style])
    return weakest_of


def counts_by_setting(rows: list[dict], measure: str = "style") -> dict[tuple[int, float], dict[str, tuple[int, int]]]:
    """`gridlib.fidelity`'s rows pooled over splits: for each sampler setting (steps, guidance), each style's
    (successes, trials) on `measure`: style, shape, colour, or content (shape and colour together)."""
    counts_of = content_counts if measure == "content" else (lambda row: row[f"{measure}_match"])
    pooled: dict[tuple[int, float], dict[str, tuple[int, int]]] = {}
    for row in rows:
        by_style = pooled.setdefault((row["sample_steps"], row["guidance"]), {})
        hits, trials = by_style.get(row["style"], (0, 0))
        new_hits, new_trials = counts_of(row)
        by_style[row["style"]] = (hits + new_hits, trials + new_trials)
    return pooled
