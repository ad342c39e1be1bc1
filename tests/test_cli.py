"""The command line: every flag reaches its runner, and a bad value or a flag that cannot apply gets one clear error."""

import pytest

from gridlib import cli
from gridlib.settings import named_recipe, prompt_sets, recipe
from gridlib.studies import MASK_SETTINGS, study_recipe


def _plan(*argv):
    planned, _ = cli.plan([*argv, "--out", "unused.json"])
    return planned.config


def test_check_flags_change_the_recipe_and_the_evaluation():
    config = _plan("check", "--seeds", "4,5", "--sample-steps", "3", "--image-seeds", "7", "--cases-per-style", "2", "--lr", "1e-3")
    assert (config["seeds"], config["image_seeds"], config["sample_steps"], config["cases_per_style"]) == ((4, 5), (7,), 3, 2)
    assert config["recipe"] == {**recipe("toy").__dict__, "lr": 1e-3}


def test_named_prompts_keep_or_drop_the_neutral_anchor_as_asked():
    fewer = list(prompt_sets()["toy_no_orange"])
    kept = _plan("check", "--prompts", "toy_no_orange")["recipe"]
    assert kept["prompts"] == fewer and len(kept["neutral_prompts"]) == len(fewer) == 16
    painter = list(prompt_sets()["toy_painter"])
    assert _plan("check", "--prompts", "toy_painter", "--neutral-prompts", "empty")["recipe"]["neutral_prompts"] is None
    assert _plan("check", "--recipe", "sd14", "--prompts", "toy_painter")["recipe"] == {**named_recipe("sd14").__dict__, "prompts": painter}


def test_study_flags_build_the_study_on_the_right_base():
    sampled = _plan("study", "--ddim-steps", "20", "--settings", "none,grid5", "--seeds", "3", "--cases-per-style", "5")
    assert sampled["base"] == {**study_recipe(ddim_steps=20).__dict__} and sampled["settings"] == ("none", "grid5")
    assert (sampled["seeds"], sampled["cases_per_style"]) == ((3,), 5)
    noise = _plan("study", "--xt-source", "noise", "--iterations", "200")
    assert noise["base"] == recipe("toy", iterations=200).__dict__ and noise["settings"] == MASK_SETTINGS
    assert _plan("study", "--quick")["settings"] == ("none", "grid3_center")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["study", "--seeds", "0,-1"], "argument --seeds: expected comma-separated non-negative integers, got '0,-1'"),
        (["study", "--seeds", "0,,1"], "argument --seeds: expected comma-separated non-negative integers, got '0,,1'"),
        (["study", "--sample-steps", "0"], "argument --sample-steps: expected a positive integer, got '0'"),
        (["study", "--settings", "grid9"], "setting must be one of"),
        (["study", "--xt-source", "noise", "--ddim-steps", "20"], "--ddim-steps cannot apply: x_t from noise takes no DDIM steps"),
        (["study", "--masks", "grid4"], "unrecognized arguments: --masks grid4"),
        (["check", "--noise-levels", "0.6,0.2"], "noise_levels must be two numbers (low, high)"),
        (["check", "--prompts", "mine"], "argument --prompts: invalid choice: 'mine'"),
        (["check", "--prompts", "toy_painter"], "'a painting by Van Gogh' is not a training phrasing with a painter"),
        (["check", "--model", "sd14"], "check measures the toy world: --model must be toy or tiny, got 'sd14'"),
        (["attack", "--variants", "esd_x,lora"], "variants must be a non-empty selection"),
        (["attack", "--lr", "1e-3"], "unrecognized arguments: --lr"),
        (["fidelity", "--splits", "heldout,later"], "--splits must come from"),
        (["train", "--model", "toy"], "the following arguments are required: --out"),
        (["reproduce", "toy_erasure", "--seeds", "4"], "unrecognized arguments: --seeds 4"),
    ],
)
def test_bad_commands_are_refused_with_one_clear_error_before_anything_runs(tmp_path, capsys, argv, message):
    out = tmp_path / "out.json"
    with pytest.raises(SystemExit):
        work_dir = ["--work-dir", str(tmp_path / "runs")] if argv[0] in ("check", "study", "attack") else []
        cli.main([*argv, *(["--out", str(out)] if argv[0] != "train" else []), *work_dir])
    assert message in capsys.readouterr().err and not out.exists() and not (tmp_path / "runs").exists()


def test_train_writes_weights_from_the_recipe_with_overrides(tmp_path):
    cli.main(["train", "--model", "tiny", "--out", str(tmp_path / "run"), "--iterations", "2", "--device", "cpu"])
    assert (tmp_path / "run" / "erasure.safetensors").exists()


def test_the_two_sd_recipes_differ_only_in_their_budget():
    report, paper = named_recipe("sd14"), named_recipe("sd14-paper")
    assert (report.iterations, report.lr, paper.iterations, paper.lr) == (100, 1e-5, 1000, 1e-5)
    assert {**paper.__dict__, "iterations": 100} == report.__dict__ and recipe("sd14") == report
    with pytest.raises(ValueError, match="recipe must be one of"):
        named_recipe("sd15")
