import pytest
import torch
from safetensors.torch import load_file

import gridlib.files as files
from gridlib.files import save_json, save_tensors


def test_a_save_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    """The writer dies after half the bytes: the real name still holds the previous complete file."""
    target = tmp_path / "weights.safetensors"
    save_tensors({"w": torch.zeros(1000)}, target)

    def half_then_crash(tensors, path, metadata=None):
        with open(path, "wb") as handle:
            handle.write(b"\0" * 500)
        raise OSError("disk full")

    monkeypatch.setattr(files, "save_file", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        save_tensors({"w": torch.ones(1000)}, target)
    assert torch.equal(load_file(target)["w"], torch.zeros(1000))
    assert [p.name for p in tmp_path.iterdir()] == ["weights.safetensors"]


def test_a_first_save_that_fails_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        save_json({"not json": object()}, tmp_path / "out" / "result.json")
    assert list((tmp_path / "out").iterdir()) == []


def test_saved_files_are_ordinary_readable_files(tmp_path):
    save_json({"a": 1}, tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text() == '{\n "a": 1\n}' and (tmp_path / "r.json").stat().st_mode & 0o044
