import json
from dataclasses import asdict
from pathlib import Path

import pytest

from gridlib.evaluate import erasure_table
from gridlib.experiments import (
    MASK_SETTINGS, SETTINGS, StudyConfig, compare_settings, erasure_check, key_comparisons, largest_drop, main, mean_over_seeds, meets_targets,
    noise_iterations_for_equal_passes, results_table, run_study, same_training, setting_config, study_label, study_recipe,
)
from gridlib.models import load_model
from gridlib.train import Trainer, recipe, train_erasure


def test_every_setting_has_a_config_and_unknown_ones_are_refused():
    base = study_recipe()
    for name in SETTINGS:
        setting_config(name, base).validate()
    assert setting_config("plain", base).masks == "full"
    assert setting_config("eta_1", base).negative_guidance == 1.0 and setting_config("lr_3e-4", base).lr == 3e-4
    with pytest.raises(ValueError, match="setting must be one of"):
        setting_config("grid9", base)
    with pytest.raises(ValueError, match="compares the noise route with a base that samples x_t, got xt_source='noise'"):
        setting_config("noise_equal_passes", recipe("toy"))


def test_the_study_asks_on_esds_sampled_xt_and_the_toy_recipe_is_one_of_its_settings():
    assert study_recipe() == recipe("toy", xt_source="sample", ddim_steps=10)
    assert setting_config("noise_equal_iterations", study_recipe(ddim_steps=20)) == recipe("toy")


def test_passes_are_counted_as_the_cost_formula_assumes(tiny):
    """noise: 3 forwards + 1 backward per iteration; sample: plus 2 forwards per guided DDIM step taken."""
    noise = Trainer(tiny, recipe("tiny", xt_source="noise", iterations=5))
    for _ in range(5):
        noise.step()
    assert noise.unet_passes == {"forward": 15, "backward": 5}
    sample = Trainer(tiny, recipe("tiny", xt_source="sample", ddim_steps=6, iterations=5))
    for _ in range(5):
        sample.step()
    sampling = sample.unet_passes["forward"] - 15
    assert sample.unet_passes["backward"] == 5 and sampling % 2 == 0 and 0 <= sampling <= 5 * 2 * 5
    # expected sample cost per iteration: (ddim_steps - 1) sampling forwards + 3 forwards + 1 backward (= 2 forwards)
    toy = study_recipe()
    assert noise_iterations_for_equal_passes(toy) == round(toy.iterations * (toy.ddim_steps - 1 + 3 + 2) / (3 + 2))


def test_mask_settings_cost_exactly_the_same(tmp_path):
    study = StudyConfig(base=recipe("toy", iterations=2), settings=("plain", "seed", "grid5"), seeds=(0,), samples_per_style=1, sample_steps=2)
    result = run_study(study, tmp_path, progress=False)
    passes = [entry["runs"][0]["unet_passes"] for entry in result["results"]]
    assert passes[0] == passes[1] == passes[2] and passes[0]["backward"] == 2
    kept = json.loads((tmp_path / "grid5_seed0" / "measurement.json").read_text())  # each run is kept as it finishes
    assert kept == {"setting": "grid5", **result["results"][2]["runs"][0]}
    assert len(results_table(result)) == 3 and set(result["baseline"]) == {"van_gogh", "mondrian", "seurat", "photo"}


def test_mask_sets_with_the_same_weight_map_are_one_training(tmp_path):
    base = study_recipe()
    assert same_training(("plain", "seed", "grid4", "grid5", "multiscale"), base) == {"grid4": "plain"}  # 8x8 cells on 32x32
    assert same_training(("plain", "grid4", "grid5"), base, image_size=30) == {"grid5": "plain"}  # 6x6 cells on 30x30
    assert same_training(("plain", "noise_equal_iterations", "lr_3e-4"), base) == {}
    # the premise: the same weight map trains bit for bit alike (tiny's 16x16 latents: 4x4 cells)
    losses = [train_erasure(load_model("tiny", device="cpu"), recipe("tiny", masks=masks, iterations=3, ddim_steps=4), tmp_path / masks,
                            progress=False) for masks in ("full", "grid4")]  # fmt: skip
    assert losses[0] == losses[1]
    study = StudyConfig(base=recipe("toy", iterations=2), settings=("plain", "grid4"), seeds=(0,), samples_per_style=1, sample_steps=2)
    result = run_study(study, tmp_path / "study", progress=False)
    plain, grid4 = result["results"]
    assert grid4["same_training_as"] == "plain" and grid4["runs"] == plain["runs"] and grid4["config"]["masks"] == "grid4"
    assert not (tmp_path / "study" / "grid4_seed0").exists()
    assert results_table(result)[1]["setting"].startswith("grid4 (= plain")
    assert {row["beyond seed noise (> 2 s.e.)"] for row in key_comparisons(result)} == {"same training"}


@pytest.mark.parametrize("name, base, settings", [
    ("ablations.json", study_recipe(), StudyConfig().settings),
    ("ablations_ddim20.json", study_recipe(ddim_steps=20), StudyConfig().settings),
    ("ablations_noise.json", recipe("toy"), MASK_SETTINGS),
])
def test_committed_studies_are_the_ones_the_book_describes(name, base, settings):
    """Each study trains the base the book names (ESD's sampled x_t in 10 or 20 DDIM steps, or the toy recipe), 3 seeds per setting."""
    result = json.loads((Path(__file__).parent.parent / "results" / name).read_text())
    assert result["study"]["base"] == asdict(base)
    assert [entry["setting"] for entry in result["results"]] == list(result["study"]["settings"]) == list(settings)
    for entry in result["results"]:
        assert len(entry["runs"]) == len(result["study"]["seeds"]) >= 3


def test_committed_reliability_study_compares_the_recipe_with_esds_route_over_8_seeds():
    result = json.loads((Path(__file__).parent.parent / "results" / "recipe_reliability.json").read_text())
    configs = {entry["setting"]: entry["config"] for entry in result["results"]}
    assert configs["noise_equal_iterations"] == asdict(recipe("toy"))
    assert configs["seed"] == asdict(recipe("toy", xt_source="sample"))
    assert all(len(entry["runs"]) == 8 for entry in result["results"]) and result["study"]["samples_per_style"] == 64


def test_erasure_check_trains_once_per_seed_and_averages_their_tables(tmp_path):
    result = erasure_check(tmp_path, seeds=(0, 1), samples_per_style=2, sample_steps=2, progress=False,
                           config=recipe("toy", iterations=2))  # fmt: skip
    assert [run["seed"] for run in result["runs"]] == [0, 1] and result["config"]["iterations"] == 2
    assert (tmp_path / "erasure_check_seed1" / "erasure.safetensors").exists()
    rows = {(row["split"], row["style"]): row for row in result["table"]}
    assert set(rows) == {(split, style) for split in ("train", "heldout") for style in ("van_gogh", "mondrian", "seurat", "photo")}
    for (split, style), row in rows.items():
        assert row["after"] == pytest.approx(sum(run["rates"][split][style] for run in result["runs"]) / 2)


def test_committed_erasure_check_is_three_seeds_and_its_table_is_their_mean():
    path = Path(__file__).parent.parent / "results" / "toy_erasure.json"
    result = json.loads(path.read_text())
    assert len(result["seeds"]) >= 3 and [run["seed"] for run in result["runs"]] == result["seeds"]
    for row in result["table"]:
        rates = [run["rates"][row["split"]][row["style"]] for run in result["runs"]]
        assert row["after"] == pytest.approx(sum(rates) / len(rates))


def test_compare_settings_resolves_only_differences_beyond_the_seeds_spread():
    def entry(name, rates):
        return {"setting": name, "runs": [{"erasure": r, "preservation": 0.9} for r in rates]}

    result = {"results": [entry("plain", [0.10, 0.12, 0.14]), entry("seed", [0.02, 0.03, 0.04]), entry("noisy", [0.0, 0.3, 0.1])]}
    clear = compare_settings(result, "plain", "seed")
    assert clear["difference_points"] == -9.0 and clear["standard_error_points"] == 1.3 and clear["resolved"]
    assert not compare_settings(result, "plain", "noisy")["resolved"]
    rows = key_comparisons(result)  # only plain vs seed is present among the study's pairs
    assert [(r["setting"], r["metric"]) for r in rows] == [("seed", "erasure"), ("seed", "preservation")]
    assert rows[0]["change (points)"] == "-9.0 ± 1.3" and rows[0]["beyond seed noise (> 2 s.e.)"] == "yes"
    with pytest.raises(ValueError, match="setting 'grid9' is not in this result"):
        compare_settings(result, "plain", "grid9")


def test_largest_drop_names_the_style_that_lost_most_and_the_worst_run():
    runs = [{"rates": {"van_gogh": 0.0, "seurat": 0.90, "photo": 0.99}}, {"rates": {"van_gogh": 0.1, "seurat": 1.0, "photo": 0.94}}]
    result = {"target": "van_gogh", "baseline": {"van_gogh": 1.0, "seurat": 1.0, "photo": 1.0}}
    style, mean_drop, worst = largest_drop(result, {"runs": runs})
    assert style == "seurat" and mean_drop == pytest.approx(-5.0) and worst == pytest.approx(-10.0)


def test_runs_side_by_side_give_the_same_study_as_one_after_another(tmp_path):
    study = StudyConfig(base=recipe("toy", iterations=2), settings=("plain", "seed"), seeds=(0, 1), samples_per_style=2, sample_steps=2)
    serial = run_study(study, tmp_path / "serial", progress=False)
    parallel = run_study(study, tmp_path / "parallel", progress=False, workers=2)
    assert parallel["baseline"] == serial["baseline"] and parallel["workers"] == 2
    for ours, theirs in zip(parallel["results"], serial["results"]):
        assert [r["seed"] for r in ours["runs"]] == [r["seed"] for r in theirs["runs"]] == [0, 1]
        for a, b in zip(ours["runs"], theirs["runs"]):
            assert a["unet_passes"] == b["unet_passes"] and a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-4)
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        run_study(study, tmp_path, workers=0)


def test_mean_over_seeds_averages_and_keeps_the_worst_seed():
    before = {"heldout": {"van_gogh": 1.0, "seurat": 1.0}}
    tables = [erasure_table(before, {"heldout": {"van_gogh": v, "seurat": s}}, "van_gogh") for v, s in ((0.0, 0.94), (0.2, 1.0))]
    erased, kept = mean_over_seeds(tables)
    assert erased["after"] == pytest.approx(0.1) and erased["change_points"] == -90.0 and erased["worst_change_points"] == -80.0
    assert kept["after"] == pytest.approx(0.97) and kept["change_points"] == -3.0 and kept["worst_change_points"] == -6.0


@pytest.mark.parametrize("option, value, message", [
    ("--seeds", "0,-1", "--seeds must be comma-separated non-negative integers, got '0,-1'"),
    ("--seeds", "0,,1", "--seeds must be comma-separated non-negative integers, got '0,,1'"),
    ("--device", "gpu", "--device must be a torch device such as cpu or cuda, got 'gpu'"),
    ("--ddim-steps", "20", "--ddim-steps sets how x_t is sampled; it does not apply with --xt-source noise, got 20"),
])
def test_bad_study_options_are_refused_before_any_training(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "study.json"), option, value, "--work-dir", str(tmp_path / "runs"), "--xt-source", "noise"])
    assert message in capsys.readouterr().err and not (tmp_path / "runs").exists() and not (tmp_path / "study.json").exists()


def test_study_label_names_the_xt_route_of_the_base():
    assert study_label({"study": {"base": asdict(study_recipe())}}) == "x_t sampled in 10 DDIM steps (ESD's route)"
    assert study_label({"study": {"base": asdict(recipe("toy"))}}) == "x_t from noise (the toy recipe)"


def test_meets_targets_needs_both_erasure_and_preservation_and_includes_the_limits():
    result = {"target": "van_gogh", "baseline": {"van_gogh": 1.0, "seurat": 1.0, "photo": 0.95}}
    run = lambda vg, seurat, photo: {"rates": {"van_gogh": vg, "seurat": seurat, "photo": photo}}  # noqa: E731
    assert meets_targets(result, run(0.10, 0.95, 0.90))  # exactly 10% left, exactly 5 points lower
    assert not meets_targets(result, run(0.11, 1.0, 0.95))
    assert not meets_targets(result, run(0.0, 0.94, 0.95))
    assert not meets_targets(result, run(0.0, 1.0, 0.89))
