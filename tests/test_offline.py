import pytest
import torch

from gridlib.models import load_model
from gridlib.offline import save_sd_layout, save_tiny_clip


def test_an_sd_layout_folder_loads_through_the_sd_branch_with_the_same_weights(tiny, tmp_path):
    folder = save_sd_layout(tiny, tmp_path / "sd")
    assert {p.name for p in folder.iterdir()} == {"unet", "vae", "text_encoder", "tokenizer", "scheduler"}
    assert not list(folder.rglob("*.bin")) and list(folder.rglob("*.safetensors"))
    model = load_model(str(folder), device="cpu")
    assert model.name == str(folder) and model.vae.use_slicing
    assert all(torch.equal(a, b) for a, b in zip(model.unet.state_dict().values(), tiny.unet.state_dict().values(), strict=True))
    assert not list(tmp_path.glob(".sd.*"))  # the staging folder was renamed into place


def test_a_pixel_space_model_has_no_sd_layout(tmp_path):
    with pytest.raises(ValueError, match="an SD layout needs a VAE"):
        save_sd_layout(load_model("toy", device="cpu"), tmp_path / "sd")
    assert not (tmp_path / "sd").exists()


def test_the_tiny_clip_is_the_same_every_time(tmp_path):
    from safetensors.torch import load_file

    a, b = (load_file(save_tiny_clip(tmp_path / name) / "model.safetensors") for name in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_sd_stand_in_keeps_every_sd_recipe_prompt_whole():
    """SD1.4 reads 77 tokens; so does the stand-in, so the attention map finds the painter in every prompt."""
    from gridlib.concept_maps import concept_token_mask
    from gridlib.offline import tiny_sd_model
    from gridlib.prompts import SD_VAN_GOGH_PROMPTS

    model = tiny_sd_model()
    assert model.tokenizer.model_max_length == 77 and model.encode_prompts(["a"]).shape[1] == 77
    assert concept_token_mask(model.tokenizer, list(SD_VAN_GOGH_PROMPTS)).any(dim=1).all()
    assert torch.equal(model.text_encoder.get_input_embeddings().weight, tiny_sd_model().text_encoder.get_input_embeddings().weight)
