import json
from dataclasses import asdict
from pathlib import Path

import pytest

from gridlib.experiments import erasure_check, run_study
from gridlib.measure import targets
from gridlib.models import load_model
from gridlib.results import read_results
from gridlib.settings import recipe, style_suite
from gridlib.studies import CONCEPT_MAP_SETTINGS, MASK_SETTINGS, StudyConfig, same_training, study_recipe
from gridlib.study_tables import key_comparisons, results_table
from gridlib.toyworld.prompts import leak_cases
from gridlib.toyworld.world import COLOURS, SHAPES
from gridlib.train import train_erasure

RESULTS = Path(__file__).parent.parent / "results"


def test_mask_settings_cost_exactly_the_same(tmp_path):
    study = StudyConfig(
        base=recipe("toy", iterations=2), settings=("none", "grid3_center", "grid5"), seeds=(0,), cases_per_style=1, sample_steps=2
    )
    result = run_study(study, tmp_path, progress=False)
    passes = [entry["runs"][0]["unet_passes"] for entry in result["results"]]
    assert passes[0] == passes[1] == passes[2] and passes[0]["backward"] == 2
    kept = json.loads((tmp_path / "grid5_seed0" / "measurement.json").read_text())  # each run is kept as it finishes
    assert kept == {"setting": "grid5", **result["results"][2]["runs"][0]}
    assert len(results_table(result)) == 3 and set(result["baseline"]) == {"van_gogh", "mondrian", "seurat", "photo"}
    assert set(result["baseline_content"]) == set(result["baseline"]) and 0 <= kept["content"]["photo"] <= 1


def test_mask_sets_with_the_same_weight_map_are_one_training(tmp_path):
    base = study_recipe()
    assert same_training(("none", "grid3_center", "grid4", "grid5", "multiscale"), base, (32, 32)) == {
        "grid4": "none"
    }  # 8x8 cells on 32x32
    assert same_training(("none", "grid4", "grid5"), base, (30, 30)) == {"grid5": "none"}  # 6x6 cells on 30x30
    assert same_training(("none", "noise_equal_iterations", "lr_3e-4"), base, (32, 32)) == {}
    # the premise: the same weight map trains bit for bit alike (tiny's 16x16 latents: 4x4 cells)
    losses = [
        train_erasure(
            load_model("tiny", device="cpu"), recipe("tiny", masks=masks, iterations=3, ddim_steps=4), tmp_path / masks, progress=False
        )
        for masks in ("none", "grid4")
    ]
    assert losses[0] == losses[1]
    study = StudyConfig(base=recipe("toy", iterations=2), settings=("none", "grid4"), seeds=(0,), cases_per_style=1, sample_steps=2)
    result = run_study(study, tmp_path / "study", progress=False)
    plain, grid4 = result["results"]
    assert grid4["same_training_as"] == "none" and grid4["runs"] == plain["runs"] and grid4["config"]["masks"] == "grid4"
    assert not (tmp_path / "study" / "grid4_seed0").exists()
    assert results_table(result)[1]["setting"].startswith("grid4 (= none")
    assert {row["beyond seed noise (> 2 s.e.)"] for row in key_comparisons(result)} == {"same training"}


def test_committed_mask_study_on_the_toy_recipe_has_five_seeds_of_every_mask_and_concept_map_on_the_shipped_model():
    """Chapters 5 and 6 read one study: the toy recipe as it stands, every fixed mask set and every concept map."""
    result = read_results(RESULTS / "masks_noise.json")
    assert list(result["study"]["settings"]) == [*MASK_SETTINGS, *CONCEPT_MAP_SETTINGS]
    assert all(len(entry["runs"]) == 5 for entry in result["results"]) and set(result["baseline_content"]) == set(result["baseline"])
    passes = {json.dumps(run["unet_passes"]) for entry in result["results"] for run in entry["runs"]}
    assert len(passes) == 1  # every setting, every seed: the same UNet passes


def test_erasure_check_judges_every_case_of_the_original_and_of_each_seeds_erasure(tmp_path):
    small = dict(image_seeds=(1, 2), sample_steps=1, cases_per_style=2, progress=False)
    result = erasure_check(tmp_path, seeds=(0, 1), config=recipe("toy", iterations=2), **small)
    assert [run["seed"] for run in result["runs"]] == [0, 1] and result["config"]["iterations"] == 2
    assert (tmp_path / "erasure_check_seed1" / "erasure.safetensors").exists()
    groups = {(case.split, case.style) for case in style_suite("toy").cases + leak_cases()}
    for run in result["runs"]:
        assert sum(row["images"] for row in run["rows"]) == 2 * 2 * len(groups)  # 2 cases per split and style, 2 image seeds
        assert {row["split"] for row in run["rows"]} == {"train", "heldout", "unseen", "artworks"}
        assert run["targets"] == targets(run["rows"]) and all(row["moved"] is not None for row in run["rows"])
        asked = {(row["split"], row["style"], row["object"]) for row in run["by_object"]}
        assert sum(row["images"] for row in run["by_object"]) == sum(row["images"] for row in run["rows"])
        assert {obj for _, _, obj in asked} <= {f"{c} {s}" for c in COLOURS for s in SHAPES} | {None}  # None: no object asked for
    assert result["runs"][0]["rows"][0]["style_before"] == result["runs"][1]["rows"][0]["style_before"]  # one original
    json.dumps(result)  # the results file holds no tensors


def test_committed_erasure_check_is_three_seeds_on_the_shipped_model_and_its_targets_follow_from_its_rows():
    result = read_results(RESULTS / "toy_erasure.json")
    assert len(result["seeds"]) >= 3 and [run["seed"] for run in result["runs"]] == result["seeds"]
    assert result["config"] == asdict(recipe("toy"))  # the recipe as it stands
    assert all(targets(run["rows"]) == run["targets"] for run in result["runs"])


@pytest.mark.slow  # two studies, one of them in two processes: the slowest of the unit tests
def test_runs_side_by_side_give_the_same_study_as_one_after_another(tmp_path):
    study = StudyConfig(
        base=recipe("toy", iterations=2), settings=("none", "grid3_center"), seeds=(0, 1), cases_per_style=2, sample_steps=2
    )
    serial = run_study(study, tmp_path / "serial", progress=False)
    parallel = run_study(study, tmp_path / "parallel", progress=False, workers=2)
    assert parallel["baseline"] == serial["baseline"]
    for ours, theirs in zip(parallel["results"], serial["results"], strict=True):
        assert [r["seed"] for r in ours["runs"]] == [r["seed"] for r in theirs["runs"]] == [0, 1]
        for a, b in zip(ours["runs"], theirs["runs"], strict=True):
            assert a["unet_passes"] == b["unet_passes"] and a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-4)
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        run_study(study, tmp_path, workers=0)
