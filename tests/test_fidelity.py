import json
from pathlib import Path

import pytest

from gridlib.fidelity import fidelity_rows, weakest
from gridlib.prompts import PromptCase
from gridlib.results import toy_weights_id
from gridlib.settings import style_suite
from tests.test_measure import BrightnessJudge

CASES = [
    PromptCase("a red circle by Van Gogh", "van_gogh", "heldout", "{obj} by {artist}", "circle", "red"),
    PromptCase("a photo of a green square", "photo", "heldout", "a photo of {obj}", "square", "green"),
]


def test_fidelity_rows_measure_every_setting_and_style_and_follow_the_sampler(tiny):
    rows = fidelity_rows(tiny, BrightnessJudge(), CASES, steps=(1, 3), guidances=(1.0, 4.0), image_seeds=(0, 1), progress=False)
    assert {(r["sample_steps"], r["guidance"], r["style"]) for r in rows} == {
        (s, g, style) for s in (1, 3) for g in (1.0, 4.0) for style in ("van_gogh", "photo")
    }
    assert all(r["images"] == 2 and r["style_match"][1] == 2 for r in rows)
    again = fidelity_rows(tiny, BrightnessJudge(), CASES, steps=(1, 3), guidances=(1.0, 4.0), image_seeds=(0, 1), progress=False)
    assert again == rows  # same seeds, same judgements


def test_weakest_pools_splits_and_names_the_least_faithful_style():
    rows = [
        {"sample_steps": 10, "guidance": 2.5, "split": "train", "style": "seurat", "style_match": (9, 10), "shape_match": (10, 10)},
        {"sample_steps": 10, "guidance": 2.5, "split": "heldout", "style": "seurat", "style_match": (1, 10), "shape_match": (10, 10)},
        {"sample_steps": 10, "guidance": 2.5, "split": "heldout", "style": "photo", "style_match": (6, 10), "shape_match": (2, 10)},
        {"sample_steps": 20, "guidance": 2.5, "split": "heldout", "style": "photo", "style_match": (10, 10), "shape_match": (0, 0)},
    ]
    assert weakest(rows) == {(10, 2.5): ("seurat", (10, 20)), (20, 2.5): ("photo", (10, 10))}  # Seurat over both splits
    assert weakest(rows, "shape") == {(10, 2.5): ("photo", (2, 10))}  # a setting with no checked shapes has no weakest
    with pytest.raises(ValueError, match="measure must be one of"):
        weakest(rows, "texture")


def test_fidelity_table_has_a_row_per_setting_and_pools_splits_per_style():
    from gridlib.check_tables import fidelity_table

    row = {"shape_match": (9, 10), "colour_match": (10, 10)}
    result = {
        "rows": [
            {"sample_steps": 10, "guidance": 2.5, "split": "train", "style": "seurat", "style_match": (9, 10), **row},
            {"sample_steps": 10, "guidance": 2.5, "split": "heldout", "style": "seurat", "style_match": (1, 10), **row},
            {"sample_steps": 20, "guidance": 1.5, "split": "heldout", "style": "seurat", "style_match": (10, 10), **row},
        ]
    }
    table = fidelity_table(result)
    assert [r["sampler"] for r in table] == ["10 steps, guidance 2.5", "20 steps, guidance 1.5"]
    assert table[0]["seurat"].startswith("50.0% (") and table[1]["seurat"].startswith("100.0% (")
    assert fidelity_table(result, "content")[0]["seurat"].startswith("95.0% (")  # 38 of 40 shape and colour checks


def test_the_committed_fidelity_file_judged_every_held_out_case_of_the_shipped_model_under_each_setting():
    result = json.loads((Path(__file__).parents[1] / "results" / "toy_fidelity.json").read_text())
    assert result["run"]["toy_weights"] == toy_weights_id() and result["splits"] == ["heldout"]
    settings = {(row["sample_steps"], row["guidance"]) for row in result["rows"]}
    assert settings == {(steps, guidance) for steps in (10, 20, 50) for guidance in (1.5, 2.5)}
    heldout = style_suite("toy").heldout_prompts
    for row in result["rows"]:
        assert row["split"] == "heldout" and row["images"] == len(heldout[row["style"]]) == row["style_match"][1]


def test_the_fidelity_finding_quotes_the_weakest_style_and_content_with_counts():
    from gridlib.findings import fidelity_findings

    def row(style, hits, shape, colour):
        return {
            "sample_steps": 10,
            "guidance": 2.5,
            "style": style,
            "style_match": (hits, 10),
            "shape_match": shape,
            "colour_match": colour,
        }

    result = {"rows": [row("seurat", 9, (10, 10), (4, 10)), row("photo", 6, (9, 10), (10, 10))]}
    assert fidelity_findings(result, 10, 2.5) == {
        "weakest_style": "photo 60.0% (31–83), 6 of 10",
        "weakest_content": "Seurat 70.0% (48–85), 14 of 20",  # shape and colour checks pooled
    }
