import json
from pathlib import Path

import pytest

from gridlib.experiments import StudyConfig, noise_iterations_for_equal_passes, results_table, run_study, setting_config
from gridlib.train import Trainer, recipe


def test_every_setting_has_a_config_and_unknown_ones_are_refused():
    base = recipe("toy")
    for name in StudyConfig().settings:
        setting_config(name, base).validate()
    assert setting_config("plain", base).masks == "full"
    with pytest.raises(ValueError, match="setting must be one of"):
        setting_config("grid9", base)


def test_passes_are_counted_as_the_cost_formula_assumes(tiny):
    """noise: 3 forwards + 1 backward per iteration; sample: plus 2 forwards per guided DDIM step taken."""
    noise = Trainer(tiny, recipe("tiny", xt_source="noise", iterations=5))
    for _ in range(5):
        noise.step()
    assert noise.unet_passes == {"forward": 15, "backward": 5}
    sample = Trainer(tiny, recipe("tiny", ddim_steps=6, iterations=5))
    for _ in range(5):
        sample.step()
    sampling = sample.unet_passes["forward"] - 15
    assert sample.unet_passes["backward"] == 5 and sampling % 2 == 0 and 0 <= sampling <= 5 * 2 * 5
    # expected sample cost per iteration: (ddim_steps - 1) sampling forwards + 3 forwards + 1 backward (= 2 forwards)
    toy = recipe("toy")
    assert noise_iterations_for_equal_passes(toy) == round(toy.iterations * (toy.ddim_steps - 1 + 3 + 2) / (3 + 2))


def test_mask_settings_cost_exactly_the_same(tmp_path):
    study = StudyConfig(base=recipe("toy", iterations=2), settings=("plain", "seed", "grid4"), seeds=(0,), samples_per_style=1, sample_steps=2)
    result = run_study(study, tmp_path, progress=False)
    passes = [entry["runs"][0]["unet_passes"] for entry in result["results"]]
    assert passes[0] == passes[1] == passes[2] and passes[0]["backward"] == 2
    assert len(results_table(result)) == 3 and set(result["baseline"]) == {"van_gogh", "mondrian", "seurat", "photo"}


def test_committed_results_match_the_study_they_claim():
    path = Path(__file__).parent.parent / "results" / "ablations.json"
    if not path.exists():
        pytest.skip("results/ablations.json not written yet")
    result = json.loads(path.read_text())
    assert [entry["setting"] for entry in result["results"]] == list(result["study"]["settings"])
    for entry in result["results"]:
        assert len(entry["runs"]) == len(result["study"]["seeds"]) >= 3
