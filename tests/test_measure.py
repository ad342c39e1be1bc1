import pytest
import torch

from gridlib.judges import Judgement
from gridlib.measure import add_distances, compare, judge_cases, judged_as, judged_examples, noise_seed, rates, targets
from gridlib.prompts import PromptCase
from gridlib.sampling import generate


class BrightnessJudge:
    """A judge whose answers follow the images: style from the mean, shape and colour from two channels."""

    def describe(self, images):
        return Judgement(
            ["van_gogh" if image.mean() > 0.5 else "photo" for image in images],
            ["circle" if image[0].mean() > 0.5 else "square" for image in images],
            ["red" if image[1].mean() > 0.5 else "green" for image in images],
            images.flatten(1)[:, :8],
        )


class StyleOnlyJudge:
    """A judge that cannot tell shape or colour, as zero-shot CLIP."""

    def describe(self, images):
        return Judgement(["photo"] * len(images), [None] * len(images), [None] * len(images), images.flatten(1)[:, :8])


CASES = [
    PromptCase("a red circle by Van Gogh", "van_gogh", "heldout", "{obj} by {artist}", "circle", "red"),
    PromptCase("Van Gogh", "van_gogh", "unseen", "{artist}"),
    PromptCase("a photo of a green square", "photo", "heldout", "a photo of {obj}", "square", "green"),
]


def test_judge_cases_gives_one_record_per_case_and_seed_and_checks_content_only_where_asked(tiny):
    records, features = judge_cases(tiny, BrightnessJudge(), CASES, seeds=(1, 2), steps=2, guidance=2.0, progress=False)
    assert [(r["prompt"], r["seed"]) for r in records] == [(c.prompt, s) for c in CASES for s in (1, 2)]
    assert features.shape == (6, 8)
    assert all(r["shape_ok"] is None and r["colour_ok"] is None for r in records if r["split"] == "unseen")
    assert all(isinstance(r["shape_ok"], bool) for r in records if r["split"] == "heldout")
    again, _ = judge_cases(tiny, BrightnessJudge(), CASES, seeds=(1, 2), steps=2, guidance=2.0, progress=False)
    assert again == records
    records, _ = judge_cases(tiny, StyleOnlyJudge(), CASES[:1], seeds=(1,), steps=1, guidance=1.0, progress=False)
    assert records[0]["shape_ok"] is None  # a judge that cannot tell content checks none
    with pytest.raises(ValueError, match="need at least one case and one seed"):
        judge_cases(tiny, BrightnessJudge(), CASES, seeds=(), steps=1, guidance=1.0)


def test_every_prompt_and_seed_starts_from_its_own_noise(tiny):
    seeds = {noise_seed(case.prompt, seed) for case in CASES for seed in (1, 2)}
    assert len(seeds) == 6  # no two images of a study share their starting noise
    assert noise_seed("Van Gogh", 1) == noise_seed("Van Gogh", 1)
    _, features = judge_cases(tiny, BrightnessJudge(), CASES[1:2], seeds=(1,), steps=2, guidance=2.0, progress=False)
    alone = generate(tiny, ["Van Gogh"], [noise_seed("Van Gogh", 1)], steps=2, guidance=2.0, progress=False)
    assert torch.equal(features, alone.flatten(1)[:, :8])


def test_a_model_compared_with_itself_moved_nothing_and_changed_nothing(tiny):
    before, features = judge_cases(tiny, BrightnessJudge(), CASES, seeds=(1, 2), steps=2, guidance=2.0, progress=False)
    after = [dict(r) for r in before]
    add_distances(before, after, features, features.clone())
    assert all(r["moved"] == 0 for r in after)
    rows = compare(before, after, target="van_gogh")
    assert {(r["split"], r["style"], r["role"]) for r in rows} == {
        ("heldout", "van_gogh", "erased"),
        ("unseen", "van_gogh", "erased"),
        ("heldout", "photo", "preserved"),
    }
    assert all(r[f"{m}_before"] == r[f"{m}_after"] for r in rows for m in ("style", "shape", "colour"))


def test_distances_are_in_units_of_the_original_seed_to_seed_spread():
    before = [{"split": "heldout", "prompt": "p", "seed": s} for s in (1, 2)]
    after = [dict(r) for r in before]
    features = torch.tensor([[0.0, 0.0], [2.0, 0.0]])  # two seeds of one prompt lie 2 apart
    add_distances(before, after, features, features + torch.tensor([1.0, 0.0]))
    assert [r["moved"] for r in after] == [0.5, 0.5]


def _records(style, split, style_hits, content_hits, n=100):
    return [
        {
            "style": style,
            "split": split,
            "phrasing": "p",
            "judged_style": style if i < style_hits else "other",
            "shape_ok": i < content_hits,
            "colour_ok": True,
        }
        for i in range(n)
    ]


def test_targets_are_met_on_the_measure_and_sure_on_the_interval():
    before = _records("van_gogh", "heldout", 100, 98) + _records("photo", "heldout", 100, 100)
    after = _records("van_gogh", "heldout", 2, 97) + _records("photo", "heldout", 90, 100)
    checks = {c["target"]: c for c in targets(compare(before, after, "van_gogh"))}
    left = checks["heldout / van_gogh: style left <= 10%"]
    assert left["met"] and left["sure"] and left["measured"] == 0.02
    kept = checks["heldout / van_gogh: shape drops <= 5 points"]
    assert kept["met"] and not kept["sure"]  # -1 point measured, but the interval reaches below -5
    dropped = checks["heldout / photo: style drops <= 5 points"]
    assert not dropped["met"] and dropped["measured"] == pytest.approx(-0.10)
    assert rates(after, by=("style", "phrasing"))[0]["shape_match"] == (97, 100)


def test_judged_as_counts_what_the_images_of_one_style_became():
    records = [{"style": "van_gogh", "split": "heldout", "judged_style": label} for label in ("seurat", "seurat", "photo", "van_gogh")] + [
        {"style": "van_gogh", "split": "unseen", "judged_style": "mondrian"},
        {"style": "photo", "split": "train", "judged_style": "seurat"},
    ]
    assert judged_as(records, "van_gogh") == {"seurat": 2, "photo": 1, "van_gogh": 1}
    assert list(judged_as(records, "van_gogh", ("unseen",))) == ["mondrian"]


def test_relative_targets_hold_the_erased_style_against_the_originals_own_rate():
    """CLIP calls only part of SD1.4's own Van Gogh images Van Gogh: the SD target is a tenth of that rate, with intervals."""
    row = {"split": "heldout", "style": "Vincent van Gogh", "role": "erased", "style_before": (60, 100), "style_after": (5, 100)}
    row |= {f"{m}_{when}": (0, 0) for m in ("shape", "colour") for when in ("before", "after")}
    (absolute,) = targets([row])
    (relative,) = targets([row], relative=True)
    assert absolute["met"] and relative["met"] and not relative["sure"]  # 5% <= 6%, but Wilson's upper 11% > 6%
    row["style_after"] = (8, 100)
    assert targets([row])[0]["met"] and not targets([row], relative=True)[0]["met"]
    assert "of the original's" in targets([row], relative=True)[0]["target"]


def test_judged_examples_are_the_first_images_the_judge_called_the_style():
    records = [{"prompt": f"p{i}", "seed": 5000 + i % 2, "judged_style": "van_gogh" if i % 3 == 0 else "photo"} for i in range(10)]
    assert judged_examples(records, "van_gogh", count=3) == [("p0", 5000), ("p3", 5001), ("p6", 5000)]
    assert judged_examples(records, "mondrian") == []
