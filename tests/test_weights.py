import json
import shutil

import pytest
import torch
from diffusers import UNet2DConditionModel

from gridlib.models import load_model
from gridlib.train import TrainConfig, train_erasure
from gridlib.weights import METADATA_FILE, WEIGHTS_FILE, apply_erasure, load_erasure, save_erasure


@pytest.fixture(scope="module")
def erasure(tmp_path_factory):
    """A short real erasure of the tiny model, saved to disk (tests only read it, or damage copies)."""
    model, folder = load_model("tiny", device="cpu"), tmp_path_factory.mktemp("erasure")
    train_erasure(model, TrainConfig(iterations=2, lr=1e-3, ddim_steps=3), folder, progress=False)
    return model, folder


def test_save_load_apply_round_trips_exactly(erasure):
    trained, folder = erasure
    fresh = load_model("tiny", device="cpu")
    assert not all(torch.equal(a, b) for a, b in zip(fresh.unet.state_dict().values(), trained.unet.state_dict().values(), strict=True))
    metadata = apply_erasure(fresh, folder)
    for (name, a), b in zip(fresh.unet.state_dict().items(), trained.unet.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert metadata["base_model"] == "tiny" and len(metadata["loss_history"]) == 2
    assert metadata["config"]["masks"] == "grid3_center" and metadata["gridlib_version"]


def test_only_the_trained_tensors_are_stored(erasure):
    _, folder = erasure
    tensors, metadata = load_erasure(folder)
    assert set(tensors) == set(metadata["trained_tensors"])
    assert all(".attn2." in name for name in tensors)


def test_a_different_architecture_is_refused_naming_the_tensor(erasure):
    _, folder = erasure
    other = load_model("tiny", device="cpu")
    config = dict(other.unet.config)
    config["cross_attention_dim"] = 48
    other.unet = UNet2DConditionModel.from_config(config)
    with pytest.raises(ValueError, match=r"another architecture .*attn2\.to_k\.weight \[\d+, 32\].*\[\d+, 48\]"):
        apply_erasure(other, folder)


def _copy(folder, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / WEIGHTS_FILE).write_bytes((f / WEIGHTS_FILE).read_bytes()[:100]), "not a valid safetensors file"),
        (lambda f: (f / WEIGHTS_FILE).write_bytes(b"garbage" * 10), "not a valid safetensors file"),
        (lambda f: torch.save({"x": torch.zeros(1)}, f / WEIGHTS_FILE), "is a pickle"),
        (lambda f: (f / WEIGHTS_FILE).unlink(), "does not exist"),
        (lambda f: (f / METADATA_FILE).unlink(), "is missing"),
        (lambda f: (f / METADATA_FILE).write_text("{not json"), "not valid JSON"),
        (lambda f: (f / METADATA_FILE).write_text("[1, 2]"), "must hold a JSON object"),
        (lambda f: (f / METADATA_FILE).write_text(json.dumps({"format": "gridlib-erasure-1"})), "lacks the fields"),
    ],
    ids=["truncated", "garbage", "pickle", "no-weights", "no-metadata", "bad-json", "not-object", "missing-fields"],
)
def test_damaged_files_are_refused(erasure, tmp_path, damage, message):
    _, folder = erasure
    copy = _copy(folder, tmp_path)
    damage(copy)
    with pytest.raises(ValueError, match=message):
        apply_erasure(load_model("tiny", device="cpu"), copy)


def test_missing_unexpected_wrong_shape_and_dtype_tensors_are_refused(erasure, tmp_path):
    from safetensors.torch import load_file, save_file

    _, folder = erasure
    cases = {
        "missing": (lambda t: t.pop(next(iter(t))), "tensors missing"),
        "unexpected": (lambda t: t.update({"extra.weight": torch.zeros(1)}), "unexpected tensors"),
    }
    for case, (change, message) in cases.items():
        copy = tmp_path / case
        shutil.copytree(folder, copy)
        tensors = load_file(copy / WEIGHTS_FILE)
        change(tensors)
        save_file(tensors, copy / WEIGHTS_FILE)
        with pytest.raises(ValueError, match=message):
            apply_erasure(load_model("tiny", device="cpu"), copy)
    for case, transform, message in (
        ("shape", lambda x: x[:1], "stored shape"),
        ("dtype", lambda x: x.to(torch.int32), "not a floating-point"),
    ):
        copy = tmp_path / case
        shutil.copytree(folder, copy)
        tensors = load_file(copy / WEIGHTS_FILE)
        name = next(iter(tensors))
        tensors[name] = transform(tensors[name])
        save_file(tensors, copy / WEIGHTS_FILE)
        with pytest.raises(ValueError, match=message):
            apply_erasure(load_model("tiny", device="cpu"), copy)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_erasure(tmp_path / "nowhere")


def test_save_writes_no_temporary_files(tiny, tmp_path):
    save_erasure(tiny.unet, ["conv_in.weight"], tmp_path, "tiny", {}, [0.5])
    assert sorted(p.name for p in tmp_path.iterdir()) == [WEIGHTS_FILE, METADATA_FILE]
