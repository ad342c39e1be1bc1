import filecmp
import os
import subprocess
import sys

import numpy as np
import pytest

from gridlib.models import TOY_ASSETS
from gridlib.toyworld.classifier import load_classifier, predict_styles, styled_dataset
from gridlib.toyworld.prompts import HELDOUT_TEMPLATES, TRAIN_TEMPLATES, VAN_GOGH_PROMPTS, evaluation_prompts
from gridlib.toyworld.tokenizer import write_tokenizer
from gridlib.toyworld.world import SHAPES, STYLES, Scene, render, render_batch, shape_mask


def test_the_generator_is_deterministic():
    a, scenes_a = render_batch(16, seed=3)
    b, scenes_b = render_batch(16, seed=3)
    assert np.array_equal(a, b) and scenes_a == scenes_b
    assert not np.array_equal(a, render_batch(16, seed=4)[0])
    assert a.shape == (16, 32, 32, 3) and a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_draws_an_object(shape):
    mask = shape_mask(shape, np.random.default_rng(0))
    assert 30 < mask.sum() < 600


def test_bad_scenes_are_refused():
    with pytest.raises(ValueError, match="style must be one of"):
        render(Scene("circle", "red", "picasso"), seed=0)
    with pytest.raises(ValueError, match="colour must be one of"):
        render(Scene("circle", "teal", "photo"), seed=0)
    with pytest.raises(ValueError, match="shape must be one of"):
        render(Scene("hexagon", "red", "photo"), seed=0)


def test_the_classifier_recognises_every_style():
    images, labels = styled_dataset(400, seed=777)  # seeds never used in training
    predictions = predict_styles(load_classifier(), images)
    for index, style in enumerate(STYLES):
        accuracy = (predictions[labels == index] == index).float().mean().item()
        assert accuracy >= 0.98, (style, accuracy)


def test_prompts_20_van_gogh_and_heldout_phrasings_unseen_in_training():
    assert len(VAN_GOGH_PROMPTS) == len(set(VAN_GOGH_PROMPTS)) == 20
    assert not set(HELDOUT_TEMPLATES["painter"]) & set(TRAIN_TEMPLATES["painter"])
    train, heldout = set(evaluation_prompts("van_gogh", heldout=False)), set(evaluation_prompts("van_gogh"))
    assert not train & heldout and not set(VAN_GOGH_PROMPTS) & heldout
    assert all("gogh" in p.lower() for p in heldout)


def test_the_shipped_tokenizer_is_what_the_code_writes(tmp_path):
    written = write_tokenizer(tmp_path)
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        assert filecmp.cmp(written / name, TOY_ASSETS / "tokenizer" / name, shallow=False), name


def test_toy_loads_with_the_hub_disabled_and_follows_the_interface():
    code = (
        "import torch; from gridlib.models import load_model\n"
        "m = load_model('toy', device='cpu')\n"
        "assert m.latent_shape == (3, 32, 32) and m.vae is None\n"
        "print(m.encode_prompts(['a painting by Van Gogh']).shape)"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME="/nonexistent-hf-home")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "torch.Size([1, 20, 64])" in result.stdout


def test_shipped_toy_weights_stay_small():
    total = sum(p.stat().st_size for p in TOY_ASSETS.rglob("*") if p.is_file())
    assert total <= 20 * 2**20, total


@pytest.mark.slow
def test_a_short_erasure_lowers_the_van_gogh_rate(tmp_path):
    from gridlib.evaluate import ToyJudge, style_rates, toy_suite
    from gridlib.models import load_model
    from gridlib.settings import recipe
    from gridlib.train import train_erasure

    suite, judge = toy_suite(), ToyJudge()
    prompts = {"van_gogh": suite.heldout_prompts["van_gogh"]}
    measure = lambda model: style_rates(model, judge, prompts, 24, steps=10, guidance=2.5, progress=False)["van_gogh"]  # noqa: E731
    model = load_model("toy", device="cpu")
    before = measure(model)
    train_erasure(model, recipe("toy", iterations=100), tmp_path, progress=False)
    after = measure(model)
    assert before >= 0.8 and after <= before - 0.3, (before, after)
