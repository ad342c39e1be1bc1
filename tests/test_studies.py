import pytest

from gridlib.settings import recipe
from gridlib.studies import SETTINGS, noise_iterations_for_equal_passes, setting_config, study_recipe
from gridlib.train import Trainer


def test_every_setting_has_a_config_and_unknown_ones_are_refused():
    base = study_recipe()
    for name in SETTINGS:
        setting_config(name, base).validate()
    assert setting_config("none", base).masks == "none"
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
