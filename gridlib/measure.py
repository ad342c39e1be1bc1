"""Measuring an erasure: every evaluation case judged, counted, and held against the book's targets.

Both models generate every case of a suite (each phrasing x artist name x object) on the same
seeds, so no phrasing is left out and every difference is paired. The judge names each image's
style and, on the toy world, the shape and colour of its object; its features give how far each
image moved from the original's image on the same seed, measured against how far two seeds of the
same prompt lie apart in the original (1.0 = as different as another seed would be).

    records = judge_cases(model, judge, suite.cases, seeds=(0, 1), steps=20, guidance=2.5)
    rows = compare(before, after, target="van_gogh")   # one row per split and style
    checks = targets(rows)                              # the book's targets, met or not

This is the one measuring path of the book, for every tier and judge: chapter 4, the studies, the
erasure check, the fidelity table and the attack study all count through `judge_cases` and `rates`.
"""

import random
import zlib
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise, zip_longest

import torch

from .checks import require_positive_int
from .models import DiffusionModel
from .prompts import PromptCase
from .sampling import generate
from .stats import difference_interval, wilson_interval

MEASURES = ("style", "shape", "colour")
# The book's targets for one erasure: at most 10% of the target style left, no other style and no style's content
# (requested shape and colour) more than 5 points lower than on the original model.
MAX_TARGET_LEFT, MAX_DROP_POINTS = 0.10, 5.0
IMAGE_SEED = 5000  # the first image seed of every evaluation: each case's first image starts from noise seeded by it
TARGET_SPLITS = ("train", "heldout")  # where the targets apply; "unseen" and "artworks" are reported beside them


def sample_cases(cases: Sequence[PromptCase], per_style: int | None, seed: int = 0) -> list[PromptCase]:
    """Every case (`per_style` None), or `per_style` cases per split and style, stratified by phrasing:
    the phrasings take turns, each contributing its cases in a seeded random order, so a smaller
    evaluation still asks every phrasing equally often (within one) and no list's prefix decides the rest."""
    if per_style is None:
        return list(cases)
    require_positive_int("per_style", per_style)
    rng = random.Random(seed)
    groups: dict[tuple[str, str], dict[str, list[PromptCase]]] = defaultdict(lambda: defaultdict(list))
    for case in cases:
        groups[(case.split, case.style)][case.phrasing].append(case)
    chosen = []
    for phrasings in groups.values():
        shuffled = [rng.sample(group, len(group)) for group in phrasings.values()]
        taking_turns = [case for turn in zip_longest(*shuffled) for case in turn if case is not None]
        chosen += taking_turns[:per_style]
    return chosen


def noise_seed(prompt: str, seed: int) -> int:
    """The seed of one evaluation image's starting noise: its own for every (prompt, image seed).

    Were every prompt started from the image seed's one noise, a study's images would differ only by
    prompt and share whatever that noise makes likely: not independent draws, so their intervals would be
    too narrow. The same prompt and seed always give the same noise, in any study and before or after erasure.
    """
    return zlib.crc32(f"{seed}:{prompt}".encode())


def judge_cases(
    model: DiffusionModel,
    judge,
    cases: Sequence[PromptCase],
    seeds: Sequence[int],
    steps: int,
    guidance: float,
    batch_size: int = 64,
    progress: bool = True,
    scheduler: str = "ddim",
) -> tuple[list[dict], torch.Tensor]:
    """Generate every case on every seed and judge each image: one record per image, and the judge's features.

    Each image starts from its own noise (`noise_seed`). A record says what was asked (prompt, style, split,
    phrasing, seed) and whether the judge agrees on the style, and where the judge can tell (`judge.describe`)
    and the prompt names one, on the shape and colour.
    """
    if not cases or not seeds:
        raise ValueError(f"need at least one case and one seed, got {len(cases)} cases and seeds {list(seeds)}")
    asked = [(case, seed) for case in cases for seed in seeds]
    prompts = [case.prompt for case, _ in asked]
    noise_seeds = [noise_seed(case.prompt, seed) for case, seed in asked]
    images = generate(model, prompts, noise_seeds, steps, guidance, batch_size, progress, scheduler)
    seen = judge.describe(images)
    records = []
    for (case, seed), style, shape, colour in zip(asked, seen.styles, seen.shapes, seen.colours, strict=True):
        checked = case.shape is not None and shape is not None
        records.append(
            {
                "prompt": case.prompt,
                "style": case.style,
                "split": case.split,
                "phrasing": case.phrasing,
                "object": f"{case.colour} {case.shape}" if case.shape is not None else None,
                "seed": seed,
                "judged_style": style,
                "shape_ok": shape == case.shape if checked else None,
                "colour_ok": colour == case.colour if checked else None,
            }
        )
    return records, seen.features


def add_distances(before: list[dict], after: list[dict], before_features: torch.Tensor, after_features: torch.Tensor) -> None:
    """Write into each `after` record how far its image moved from the same seed's original image, in the
    judge's feature space, divided by the original's mean distance between two seeds of the same case."""
    moved = (after_features - before_features).norm(dim=1)
    by_case = defaultdict(list)
    for index, record in enumerate(before):
        by_case[(record["split"], record["prompt"])].append(index)
    seed_to_seed = [(before_features[i] - before_features[j]).norm().item() for indices in by_case.values() for i, j in pairwise(indices)]
    scale = sum(seed_to_seed) / len(seed_to_seed) if seed_to_seed else None
    for record, distance in zip(after, moved.tolist(), strict=True):
        record["moved"] = distance / scale if scale else None


def _count(records: list[dict], key: str) -> tuple[int, int]:
    """(successes, trials) of one measure over records: the judged style, or a content check."""
    if key == "style":
        return sum(r["judged_style"] == r["style"] for r in records), len(records)
    checked = [r[key] for r in records if r[key] is not None]
    return sum(checked), len(checked)


def rates(records: list[dict], by: tuple[str, ...] = ("split", "style")) -> list[dict]:
    """Per group of records (by split and style, or by phrasing, ...): how often the judge agrees with the
    prompt on style, shape and colour, each as (successes, trials), and the mean of `moved` where present."""
    groups = defaultdict(list)
    for record in records:
        groups[tuple(record[key] for key in by)].append(record)
    rows = []
    for key, group in groups.items():
        moved = [r["moved"] for r in group if r.get("moved") is not None]
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "images": len(group),
                "style_match": _count(group, "style"),
                "shape_match": _count(group, "shape_ok"),
                "colour_match": _count(group, "colour_ok"),
                "moved": sum(moved) / len(moved) if moved else None,
            }
        )
    return rows


def compare(before: list[dict], after: list[dict], target: str) -> list[dict]:
    """One row per split and style: each measure before and after as counts, and the style's role."""
    after_rows = {(row["split"], row["style"]): row for row in rates(after)}
    return [
        {
            "split": row["split"],
            "style": row["style"],
            "role": "erased" if row["style"] == target else "preserved",
            "images": row["images"],
            **{f"{m}_before": row[f"{m}_match"] for m in MEASURES},
            **{f"{m}_after": after_rows[(row["split"], row["style"])][f"{m}_match"] for m in MEASURES},
            "moved": after_rows[(row["split"], row["style"])]["moved"],
        }
        for row in rates(before)
    ]


def targets(rows: list[dict], splits: tuple[str, ...] = TARGET_SPLITS, relative: bool = False) -> list[dict]:
    """The book's targets on each split, judged twice: `met` on the measured rates, and `sure` when the
    whole 95% interval (Wilson for a rate, Newcombe for a change) lies on the right side of the line.

    - the erased style's rate after is at most MAX_TARGET_LEFT; with `relative`, at most MAX_TARGET_LEFT of the
      original model's own rate (for CLIP on SD1.4, whose judge calls only part of the original's images Van Gogh);
    - every preserved style's rate drops by at most MAX_DROP_POINTS points;
    - shape and colour accuracy drop by at most MAX_DROP_POINTS points for every style, the erased one included.
    """
    checks, limit = [], MAX_DROP_POINTS / 100
    for row in (r for r in rows if r["split"] in splits):
        name = f"{row['split']} / {row['style']}"
        if row["role"] == "erased":
            hits, trials = row["style_after"]
            rate, upper = hits / trials, wilson_interval(hits, trials)[1]
            before = row["style_before"][0] / row["style_before"][1]
            line = MAX_TARGET_LEFT * before if relative else MAX_TARGET_LEFT
            label = f"style left <= {MAX_TARGET_LEFT:.0%} of the original's" if relative else f"style left <= {MAX_TARGET_LEFT:.0%}"
            checks.append(_check(f"{name}: {label}", rate, rate <= line, upper <= line))
        measures = ("shape", "colour") if row["role"] == "erased" else ("style", "shape", "colour")
        for measure in measures:
            after, before = row[f"{measure}_after"], row[f"{measure}_before"]
            if before[1] == 0:
                continue
            change = after[0] / after[1] - before[0] / before[1]
            low = difference_interval(after, before)[0]
            checks.append(_check(f"{name}: {measure} drops <= {MAX_DROP_POINTS:g} points", change, change >= -limit, low >= -limit))
    return checks


def _check(target: str, measured: float, met: bool, sure: bool) -> dict:
    return {"target": target, "measured": measured, "met": met, "sure": sure}


def pooled_counts(rows: list[dict], key: str) -> tuple[int, int]:
    """(successes, trials) of one measure summed over rows of `rates` or `compare`: runs, or styles, pooled."""
    return sum(row[key][0] for row in rows), sum(row[key][1] for row in rows)


def content_counts(row: dict) -> tuple[int, int]:
    """(successes, trials) of one `rates` row's shape and colour checks together: how often the requested content was drawn."""
    (shape_hits, shape_trials), (colour_hits, colour_trials) = row["shape_match"], row["colour_match"]
    return shape_hits + colour_hits, shape_trials + colour_trials


def meets_targets(rates: dict, baseline: dict, content: dict, baseline_content: dict, target: str) -> bool:
    """Whether one study run reached the targets on its held-out rates (each style's share of its images judged
    in style, and its content accuracy where the judge sees content), against the original model's."""
    changes = [100 * (rates[s] - before) for s, before in baseline.items() if s != target]
    changes += [100 * (content[s] - before) for s, before in baseline_content.items()]
    return rates[target] <= MAX_TARGET_LEFT and min(round(change, 6) for change in changes) >= -MAX_DROP_POINTS


def judged_as(records: list[dict], style: str, splits: tuple[str, ...] = TARGET_SPLITS) -> dict[str, int]:
    """What the judge called the images asked for in `style`, on `splits`: {judged style: images}, most first.

    After an erasure this answers the learner's next question, "if not Van Gogh, then what?"."""
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        if record["style"] == style and record["split"] in splits:
            counts[record["judged_style"]] += 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def judged_examples(records: list[dict], style: str, count: int = 4) -> list[tuple[str, int]]:
    """Up to `count` (prompt, image seed) pairs whose image the judge called `style`, in the records' order: the images
    to show beside a rate. `generate(model, [prompt], [noise_seed(prompt, seed)])` makes the same image again."""
    return [(r["prompt"], r["seed"]) for r in records if r["judged_style"] == style][:count]
