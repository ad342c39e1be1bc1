import os
import subprocess
import sys
import time

import pytest
import torch

from gridlib.models import SD14_HUB_ID, load_model


def test_tiny_has_the_sd_interface(tiny):
    assert tiny.latent_shape == (4, 16, 16)
    embeddings = tiny.encode_prompts(["a painting by Van Gogh", ""])
    assert embeddings.shape == (2, tiny.tokenizer.model_max_length, tiny.unet.config.cross_attention_dim)
    images = tiny.decode(torch.randn(2, *tiny.latent_shape))
    assert images.shape == (2, 3, 32, 32) and images.min() >= 0 and images.max() <= 1
    assert type(tiny.unet).__name__ == "UNet2DConditionModel" and type(tiny.text_encoder).__name__ == "CLIPTextModel"


def test_tiny_is_the_same_random_model_every_time():
    a, b = load_model("tiny", device="cpu"), load_model("tiny", device="cpu")
    assert all(torch.equal(x, y) for x, y in zip(a.unet.state_dict().values(), b.unet.state_dict().values(), strict=True))


@pytest.mark.slow  # a child process
@pytest.mark.parametrize("offline", ["1", "0"])
def test_sd14_without_a_hub_fails_at_once_and_says_what_to_use(offline):
    env = dict(os.environ, HF_HUB_OFFLINE=offline, HF_HOME="/tmp/gridlib-empty-hf-home")
    code = "from gridlib.models import load_model; load_model('sd14', device='cpu')"
    start = time.time()
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert SD14_HUB_ID in result.stderr and "load_model('toy')" in result.stderr and "load_model('tiny')" in result.stderr
    assert time.time() - start < 60


@pytest.mark.parametrize("name", ["", "sd15", "toy-model", None, 3])
def test_unknown_model_names_are_refused(name):
    with pytest.raises(ValueError, match=r"model name must be one of \('sd14', 'toy', 'tiny'\)"):
        load_model(name)
