import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from gridlib.experiments import erasure_check, main, run_study
from gridlib.models import load_model
from gridlib.report import key_comparisons, read_results, results_table
from gridlib.runs import toy_weights_id
from gridlib.scorecard import targets
from gridlib.settings import recipe, style_suite
from gridlib.studies import CONCEPT_MAP_SETTINGS, MASK_SETTINGS, StudyConfig, same_training, study_recipe
from gridlib.toyworld.prompts import VAN_GOGH_PAINTER_PROMPTS, leak_cases
from gridlib.toyworld.world import COLOURS, SHAPES
from gridlib.train import TrainConfig, train_erasure

RESULTS = Path(__file__).parent.parent / "results"
SECOND_TOY_MODEL = "e82323329bc7"  # the toy weights that results/toy_v2/ measured, before the last retraining


def test_mask_settings_cost_exactly_the_same(tmp_path):
    study = StudyConfig(
        base=recipe("toy", iterations=2), settings=("full", "grid3_center", "grid5"), seeds=(0,), samples_per_style=1, sample_steps=2
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
    assert same_training(("full", "grid3_center", "grid4", "grid5", "multiscale"), base, (32, 32)) == {
        "grid4": "full"
    }  # 8x8 cells on 32x32
    assert same_training(("full", "grid4", "grid5"), base, (30, 30)) == {"grid5": "full"}  # 6x6 cells on 30x30
    assert same_training(("full", "noise_equal_iterations", "lr_3e-4"), base, (32, 32)) == {}
    # the premise: the same weight map trains bit for bit alike (tiny's 16x16 latents: 4x4 cells)
    losses = [
        train_erasure(
            load_model("tiny", device="cpu"), recipe("tiny", masks=masks, iterations=3, ddim_steps=4), tmp_path / masks, progress=False
        )
        for masks in ("full", "grid4")
    ]
    assert losses[0] == losses[1]
    study = StudyConfig(base=recipe("toy", iterations=2), settings=("full", "grid4"), seeds=(0,), samples_per_style=1, sample_steps=2)
    result = run_study(study, tmp_path / "study", progress=False)
    plain, grid4 = result["results"]
    assert grid4["same_training_as"] == "full" and grid4["runs"] == plain["runs"] and grid4["config"]["masks"] == "grid4"
    assert not (tmp_path / "study" / "grid4_seed0").exists()
    assert results_table(result)[1]["setting"].startswith("grid4 (= full")
    assert {row["beyond seed noise (> 2 s.e.)"] for row in key_comparisons(result)} == {"same training"}


@pytest.mark.parametrize(
    "name, base, settings",
    [
        ("ablations.json", study_recipe(), StudyConfig().settings),
        ("ablations_ddim20.json", study_recipe(ddim_steps=20), StudyConfig().settings),
        ("masks_sampled.json", study_recipe(), ("full", "grid3_center", "difference_3", "adaptive_grid_3", "attention_3")),
    ],
)
def test_committed_sampled_route_studies_train_the_recipe_on_esds_route_on_the_shipped_model(name, base, settings):
    """Chapter 5 and 6's studies on ESD's route: the toy recipe with x_t sampled in 10 or 20 DDIM steps, 3 seeds per setting."""
    result = read_results(RESULTS / name)
    assert result["study"]["base"] == asdict(base) and result["toy_weights"] == toy_weights_id()
    assert [entry["setting"] for entry in result["results"]] == list(result["study"]["settings"]) == list(settings)
    assert all(len(entry["runs"]) == len(result["study"]["seeds"]) >= 3 for entry in result["results"])


def test_committed_mask_study_on_the_toy_recipe_has_five_seeds_of_every_mask_and_concept_map_on_the_shipped_model():
    """Chapters 5 and 6 read one study: the toy recipe as it stands, every fixed mask set and every concept map."""
    result = read_results(RESULTS / "masks_noise.json")
    assert result["study"]["base"] == asdict(recipe("toy")) and result["toy_weights"] == toy_weights_id()
    assert list(result["study"]["settings"]) == [*MASK_SETTINGS, *CONCEPT_MAP_SETTINGS]
    assert all(len(entry["runs"]) == 5 for entry in result["results"]) and set(result["baseline_content"]) == set(result["baseline"])
    passes = {json.dumps(run["unet_passes"]) for entry in result["results"] for run in entry["runs"]}
    assert len(passes) == 1  # every setting, every seed: the same UNet passes


@pytest.mark.parametrize("name, samples, steps", [("recipe_reliability.json", 72, 10), ("recipe_reliability_eval20.json", 64, 20)])
def test_committed_reliability_studies_compare_the_recipe_with_esds_route_over_8_seeds_on_the_shipped_model(name, samples, steps):
    """The appendix's two reliability studies: the same 16 trainings, judged at the studies' 10 DDIM steps and at 20."""
    result = read_results(RESULTS / name)
    configs = {entry["setting"]: entry["config"] for entry in result["results"]}
    assert configs["noise_equal_iterations"] == asdict(recipe("toy"))
    assert configs["grid3_center"] == asdict(recipe("toy", xt_source="sample"))
    assert all(len(entry["runs"]) == 8 for entry in result["results"]) and result["toy_weights"] == toy_weights_id()
    assert (result["study"]["samples_per_style"], result["study"]["sample_steps"]) == (samples, steps)


def test_erasure_check_judges_every_case_of_the_original_and_of_each_seeds_erasure(tmp_path):
    small = dict(image_seeds=(1, 2), sample_steps=1, prompts_per_style=2, progress=False)
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
    assert result["wall_time_s"] > 0


def test_committed_erasure_check_is_three_seeds_on_the_shipped_model_and_its_targets_follow_from_its_rows():
    path = Path(__file__).parent.parent / "results" / "toy_erasure.json"
    result = json.loads(path.read_text())
    assert len(result["seeds"]) >= 3 and [run["seed"] for run in result["runs"]] == result["seeds"]
    assert result["toy_weights"] == toy_weights_id() and result["config"] == asdict(recipe("toy"))  # the recipe as it stands
    assert all(targets(run["rows"]) == run["targets"] for run in result["runs"])


def test_runs_side_by_side_give_the_same_study_as_one_after_another(tmp_path):
    study = StudyConfig(
        base=recipe("toy", iterations=2), settings=("full", "grid3_center"), seeds=(0, 1), samples_per_style=2, sample_steps=2
    )
    serial = run_study(study, tmp_path / "serial", progress=False)
    parallel = run_study(study, tmp_path / "parallel", progress=False, workers=2)
    assert parallel["baseline"] == serial["baseline"] and parallel["workers"] == 2
    for ours, theirs in zip(parallel["results"], serial["results"], strict=True):
        assert [r["seed"] for r in ours["runs"]] == [r["seed"] for r in theirs["runs"]] == [0, 1]
        for a, b in zip(ours["runs"], theirs["runs"], strict=True):
            assert a["unet_passes"] == b["unet_passes"] and a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-4)
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        run_study(study, tmp_path, workers=0)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--seeds", "0,-1", "--seeds must be comma-separated non-negative integers, got '0,-1'"),
        ("--seeds", "0,,1", "--seeds must be comma-separated non-negative integers, got '0,,1'"),
        ("--device", "gpu", "--device must be a torch device such as cpu or cuda, got 'gpu'"),
        ("--ddim-steps", "20", "--ddim-steps sets how x_t is sampled; it does not apply with --xt-source noise, got 20"),
        ("--sample-steps", "0", "--sample-steps must be a positive integer, got 0"),
        ("--samples-per-style", "-2", "--samples-per-style must be a positive integer, got -2"),
        ("--settings", "grid9", "setting must be one of"),
    ],
)
def test_bad_study_options_are_refused_before_any_training(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "study.json"), option, value, "--work-dir", str(tmp_path / "runs"), "--xt-source", "noise"])
    assert message in capsys.readouterr().err and not (tmp_path / "runs").exists() and not (tmp_path / "study.json").exists()


def test_the_erasure_check_command_passes_on_every_flag_it_takes(tmp_path, monkeypatch):
    import gridlib.experiments as experiments

    calls = []
    monkeypatch.setattr(experiments, "erasure_check", lambda work_dir, **kwargs: calls.append(kwargs) or {"runs": []})
    main(
        [
            "--erasure-check",
            "--out",
            str(tmp_path / "check.json"),
            "--seeds",
            "4,5",
            "--sample-steps",
            "3",
            "--device",
            "cpu",
            "--workers",
            "2",
        ]
    )
    assert calls == [{"seeds": (4, 5), "sample_steps": 3, "workers": 2, "device": "cpu"}]
    main(["--erasure-check", "--out", str(tmp_path / "check.json")])
    assert calls[-1] == {"seeds": (0, 1, 2), "sample_steps": 10, "workers": 1, "device": "cpu"}


@pytest.mark.parametrize(
    "flags", [["--settings", "full"], ["--quick"], ["--ddim-steps", "20"], ["--xt-source", "noise"], ["--samples-per-style", "8"]]
)
def test_the_erasure_check_command_refuses_flags_it_would_ignore(tmp_path, capsys, flags):
    with pytest.raises(SystemExit):
        main(["--erasure-check", "--out", str(tmp_path / "check.json"), *flags])
    assert "--erasure-check trains the toy recipe as it is; it does not take" in capsys.readouterr().err


def test_the_study_command_applies_each_flag():
    import argparse

    from gridlib.experiments import study_from_args

    args = argparse.Namespace(
        quick=True, settings="full,grid5", samples_per_style=5, sample_steps=3, xt_source=None, ddim_steps=7, device="cpu", seeds="3"
    )
    study = study_from_args(args, (3,))
    assert (study.settings, study.samples_per_style, study.sample_steps, study.seeds, study.base.ddim_steps) == (
        ("full", "grid5"),
        5,
        3,
        (3,),
        7,
    )


def _before_noise_levels(config: TrainConfig) -> dict:
    """A config as a file written before `noise_levels` existed records it: then x_t came from every level."""
    assert config.noise_levels == [0.0, 1.0]
    return {key: value for key, value in asdict(config).items() if key != "noise_levels"}


def _second_recipe(**overrides) -> dict:
    """The second toy recipe as a results file records it: ten painter-only prompts, ESD's empty anchor."""
    return asdict(recipe("toy", prompts=list(VAN_GOGH_PAINTER_PROMPTS), neutral_prompts=None, **overrides))


@pytest.mark.parametrize("name", ["recipe_sweep_noise.json", "recipe_sweep_noise_longer.json"])
def test_committed_sweeps_of_the_second_recipe_are_five_seeds_on_its_base_on_the_second_toy_model(name):
    result = read_results(RESULTS / "toy_v2" / name)
    base = {key: value for key, value in result["study"]["base"].items() if key != "neutral_prompts"}  # older files lack the field
    second_then = _second_recipe(iterations=200, noise_levels=[0.0, 1.0])  # the second recipe as it was then
    assert base == {key: value for key, value in second_then.items() if key not in ("neutral_prompts", "noise_levels")}
    assert result["study"]["base"].get("neutral_prompts") is None and result["toy_weights"] == SECOND_TOY_MODEL
    assert all(len(entry["runs"]) == 5 for entry in result["results"])


def test_committed_check_of_the_second_recipe_is_the_erasure_check_with_its_prompts_and_the_empty_anchor():
    result = read_results(RESULTS / "recipe_painter_prompts.json")
    assert result["config"] == _second_recipe() and result["toy_weights"] == toy_weights_id() and len(result["runs"]) == 3
    assert all(targets(run["rows"]) == run["targets"] for run in result["runs"])


def test_every_results_file_measured_the_toy_model_its_folder_says():
    """results/*.json measured the shipped weights, results/toy_v2/ the second toy model (results/toy_v1/ predate the record)."""
    for folder, weights in ((RESULTS, toy_weights_id()), (RESULTS / "toy_v2", SECOND_TOY_MODEL)):
        files = sorted(folder.glob("*.json"))
        assert files and all(read_results(path)["toy_weights"] == weights for path in files), folder


def test_committed_neighbours_of_the_recipe_chose_its_length_on_the_shipped_model():
    """The sweep that shortened the recipe: its base then (200 iterations, every noise level) and three neighbours, 3 seeds each."""
    result = read_results(RESULTS / "recipe_neighbours.json")
    then = recipe("toy", iterations=200, noise_levels=[0.0, 1.0])
    assert result["study"]["base"] == _before_noise_levels(then) and result["toy_weights"] == toy_weights_id()
    assert list(result["study"]["settings"]) == ["grid3_center", "eta_1", "lr_3e-4", "noise_100"]
    assert all(len(entry["runs"]) == 3 for entry in result["results"])
    assert result["results"][-1]["config"] == _before_noise_levels(replace(then, iterations=100))  # the recipe's length
