import pytest
import torch

from gridlib.esd import esd_target
from gridlib.judges import ClipJudge, ToyJudge
from gridlib.offline import save_tiny_clip
from gridlib.prompts import NO_ARTIST, SD_VAN_GOGH_PROMPTS
from gridlib.settings import SD, TOY, make_judge, recipe, style_suite, tier_settings
from gridlib.toyworld.prompts import VAN_GOGH_PROMPTS
from gridlib.train import TrainConfig


def test_the_sd_recipe_is_the_reports_at_the_official_esd_strength():
    config = recipe("sd14")
    assert config == TrainConfig() and config.prompts == list(SD_VAN_GOGH_PROMPTS)
    assert (config.lr, config.iterations, config.masks, config.xt_source, config.ddim_steps) == (1e-5, 100, "grid3_center", "sample", 50)
    assert (config.negative_guidance, config.anchor) == (1.0, "uncond")
    # paper eta 1 is esd_sd.py's default, 2.0 anchored at the concept: the report's "negative guidance 2.0"
    eps_concept, eps_anchor = torch.randn(2, 1, 4, 8, 8)
    official = esd_target(eps_concept, eps_anchor, 2.0, anchor="concept")
    assert torch.allclose(esd_target(eps_concept, eps_anchor, config.negative_guidance, config.anchor), official)


@pytest.mark.parametrize("name", ["sd14", "CompVis/stable-diffusion-v1-4", "/some/sd/folder"])
def test_every_sd_name_gets_the_sd_tier(name):
    assert recipe(name) == TrainConfig() and tier_settings(name) is SD and style_suite(name).target == "Vincent van Gogh"


def test_the_toy_recipe_changes_only_its_measured_values():
    config = recipe("toy")
    assert config.prompts == list(VAN_GOGH_PROMPTS) and recipe("tiny") == config
    assert (config.lr, config.iterations, config.negative_guidance, config.xt_source) == (5e-4, 100, 2.0, "noise")
    assert config.noise_levels == [0.5, 1.0] and TrainConfig().noise_levels == [0.0, 1.0]  # SD keeps ESD's every level
    assert recipe("toy", iterations=3).iterations == 3 and tier_settings("toy") is TOY and style_suite("toy").target == "van_gogh"


def test_sd_evaluation_settings_follow_sd14s_model_card_and_fit_a_t4():
    """SD1.4 at its model card's guidance, with DPM-Solver++ in 25 steps; the toy model at the setting its fidelity chose."""
    assert (SD.sample_steps, SD.scheduler, SD.guidance) == (25, "dpm++", 7.5) and (TOY.sample_steps, TOY.scheduler, TOY.guidance) == (
        10,
        "ddim",
        2.5,
    )
    assert SD.batch_size <= 4  # a guided pass of 8 latents; the VAE decodes one image at a time
    assert SD.test_prompt == "a painting by Vincent van Gogh" and SD.test_seeds == (5000, 5001, 5002, 5003, 5004)
    phrasings = {style: len({case.phrasing for case in style_suite("sd14").cases if case.split == "heldout" and case.style == style})
                 for style in style_suite("sd14").styles}  # fmt: skip
    assert all(SD.cases_per_style % count == 0 for count in phrasings.values())  # every phrasing equally often
    assert len(SD.image_seeds) == len(TOY.image_seeds) == 2  # `moved` needs two seeds of a case


def test_make_judge_reads_a_local_clip_folder_and_the_toy_classifier(tmp_path):
    assert isinstance(make_judge("toy"), ToyJudge)
    judge = make_judge("sd14", str(save_tiny_clip(tmp_path / "clip")), device="cpu")
    assert isinstance(judge, ClipJudge) and judge.labels == (*style_suite("sd14").styles, *NO_ARTIST)
