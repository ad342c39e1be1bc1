"""Does the original model follow its prompts, and does that depend on how its pictures are sampled?

A diffusion model's pictures depend on the sampler as well as on the weights: on the number of DDIM
steps and on the guidance scale. Every erasure is judged against the original model's own fidelity,
so the book first measures that fidelity under each sampler setting: how often the judge agrees
with the prompt's style, shape and colour, per split and style, as counts (the tables add intervals).

    python -m gridlib.fidelity --steps 10,20,50 --guidance 1.5,2.5 --out results/toy_fidelity.json
"""

import argparse
import time
from collections.abc import Sequence
from itertools import product

from . import scorecard
from .experiments import STUDY_IMAGE_SEED
from .files import save_json
from .models import DiffusionModel, load_model
from .prompts import PromptCase
from .report import counts_by_setting
from .runs import hardware, toy_weights_id
from .settings import make_judge, style_suite


def fidelity_rows(
    model: DiffusionModel,
    judge,
    cases: Sequence[PromptCase],
    steps: Sequence[int],
    guidances: Sequence[float],
    image_seeds: Sequence[int] = (STUDY_IMAGE_SEED,),
    progress: bool = True,
) -> list[dict]:
    """For every (steps, guidance): every case on every image seed, judged; one row per split and style
    with `scorecard.rates`' counts, and the setting that made it."""
    rows = []
    for step_count, guidance in product(steps, guidances):
        records, _ = scorecard.judge_cases(model, judge, cases, image_seeds, step_count, guidance, progress=progress)
        rows += [{"sample_steps": step_count, "guidance": guidance, **row} for row in scorecard.rates(records)]
    return rows


def weakest(rows: list[dict], measure: str = "style") -> dict[tuple[int, float], tuple[str, float]]:
    """For each sampler setting, the style whose prompts the judge agreed with least often on `measure`
    (style, shape or colour), and that rate; pooled over the splits in `rows`."""
    if measure not in scorecard.MEASURES:
        raise ValueError(f"measure must be one of {scorecard.MEASURES}, got {measure!r}")
    weakest_of = {}
    for setting, by_style in counts_by_setting(rows, measure).items():
        rates = {style: hits / trials for style, (hits, trials) in by_style.items() if trials}
        if rates:  # a setting with no checked images (shape on unseen prompts) has no weakest style
            style = min(rates, key=rates.get)
            weakest_of[setting] = (style, rates[style])
    return weakest_of


def _numbers(text: str, kind: type) -> list:
    """'10,20,50' as [10, 20, 50] (or floats); every value must be positive."""
    values = [kind(part) for part in text.split(",")]
    if any(value <= 0 for value in values):
        raise ValueError(f"every value must be positive, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> None:
    """Measure the toy model's fidelity under each sampler setting and write one results file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="results JSON file to write")
    parser.add_argument("--steps", default="10,20,50", help="comma-separated DDIM step counts (default 10,20,50)")
    parser.add_argument("--guidance", default="1.5,2.5", help="comma-separated guidance scales (default 1.5,2.5)")
    parser.add_argument("--splits", default="heldout", help="comma-separated prompt splits of the toy suite (default heldout)")
    args = parser.parse_args(argv)
    try:
        steps, guidances = _numbers(args.steps, int), _numbers(args.guidance, float)
    except ValueError as error:
        parser.error(f"--steps and --guidance take comma-separated positive numbers: {error}")
    suite = style_suite("toy")
    splits = args.splits.split(",")
    if unknown := [split for split in splits if split not in suite.splits]:
        parser.error(f"--splits must come from {suite.splits}, got {unknown}")
    start = time.time()
    cases = [case for case in suite.cases if case.split in splits]
    rows = fidelity_rows(load_model("toy", device="cpu"), make_judge("toy"), cases, steps, guidances)
    result = {
        "splits": splits,
        "image_seeds": [STUDY_IMAGE_SEED],
        "rows": rows,
        "wall_time_s": round(time.time() - start, 1),
        "hardware": hardware(),
        "toy_weights": toy_weights_id(),
    }
    save_json(result, args.out)
    for (step_count, guidance), (style, rate) in weakest(rows).items():
        print(f"{step_count} steps, guidance {guidance}: weakest style {style} {rate:.1%}")


if __name__ == "__main__":
    main()
