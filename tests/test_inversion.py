import shutil

import pytest
import torch
from safetensors.torch import load_file

from gridlib.inversion import CHECKPOINT_FILE, InversionConfig, invert_concept, toy_style_pictures
from gridlib.models import load_model

CONFIG = InversionConfig(steps=6, batch_size=2, checkpoint_every=3, lr=1e-2)


def test_toy_style_pictures_are_seeded_and_captioned_with_the_token():
    pictures, captions = toy_style_pictures("van_gogh", count=4, seed=1)
    again, _ = toy_style_pictures("van_gogh", count=4, seed=1)
    assert pictures.shape == (4, 3, 32, 32) and torch.equal(pictures, again)
    assert all(caption.endswith("in the style of <style>") for caption in captions)
    with pytest.raises(ValueError, match="style must be one of"):
        toy_style_pictures("picasso", count=4, seed=1)


def test_inversion_trains_only_the_new_row_and_the_token_changes_what_the_model_sees(tmp_path, tiny):
    pictures, captions = torch.rand(4, 3, 32, 32), ["a red circle in the style of <style>"] * 4
    before = tiny.text_encoder.get_input_embeddings().weight.detach().clone()
    losses = invert_concept(tiny, pictures, captions, CONFIG, tmp_path, progress=False)
    after = tiny.text_encoder.get_input_embeddings().weight
    token_id = tiny.tokenizer.convert_tokens_to_ids("<style>")
    assert len(losses) == 6 and token_id == len(before)
    assert torch.equal(after[: len(before)], before)  # every old row is exactly as it was
    initial = before[tiny.tokenizer("painting", add_special_tokens=False).input_ids[0]]
    assert not torch.allclose(after[token_id], initial)  # the new row moved away from its start
    assert torch.equal(load_file(tmp_path / "embedding.safetensors")["<style>"], after[token_id])
    assert tiny.tokenizer.tokenize("<style>") == ["<style>"]


def test_an_interrupted_inversion_resumes_to_the_same_embedding(tmp_path):
    pictures, captions = torch.rand(4, 3, 32, 32), ["<style> painting"] * 4
    whole = load_model("tiny", device="cpu")
    invert_concept(whole, pictures, captions, CONFIG, tmp_path / "whole", progress=False)
    (tmp_path / "resumed").mkdir()
    shutil.copy(tmp_path / "whole" / CHECKPOINT_FILE, tmp_path / "resumed" / CHECKPOINT_FILE)  # the state at step 3
    resumed = load_model("tiny", device="cpu")
    losses = invert_concept(resumed, pictures, captions, CONFIG, tmp_path / "resumed", resume=True, progress=False)
    assert len(losses) == 6
    row = lambda m: m.text_encoder.get_input_embeddings().weight[-1]  # noqa: E731
    assert torch.equal(row(whole), row(resumed))
    with pytest.raises(ValueError, match="different InversionConfig"):
        invert_concept(
            load_model("tiny", device="cpu"), pictures, captions, InversionConfig(steps=7, batch_size=2), tmp_path / "resumed", resume=True
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token": "two words"}, "token must be one word"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"lr": 2.0}, "lr must be a number in"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bad_inversion_configs_are_refused(tiny, tmp_path, change, message):
    config = InversionConfig(**{**CONFIG.__dict__, **change})
    with pytest.raises(ValueError, match=message):
        invert_concept(tiny, torch.rand(1, 3, 32, 32), ["<style>"], config, tmp_path)


def test_captions_without_the_token_and_known_tokens_are_refused(tiny, tmp_path):
    with pytest.raises(ValueError, match="must contain the token '<style>'"):
        invert_concept(tiny, torch.rand(1, 3, 32, 32), ["a red circle"], CONFIG, tmp_path)
    with pytest.raises(ValueError, match="one caption per picture"):
        invert_concept(tiny, torch.rand(2, 3, 32, 32), ["<style>"], CONFIG, tmp_path)
    with pytest.raises(ValueError, match="already in the tokenizer"):
        invert_concept(tiny, torch.rand(1, 3, 32, 32), ["circle</w>"], InversionConfig(token="circle</w>"), tmp_path)
