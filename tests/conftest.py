"""Shared fixtures. The whole suite runs offline: the hub is disabled before anything imports it."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest  # noqa: E402


@pytest.fixture
def tiny():
    """A fresh random tiny model (training mutates models, so each test gets its own)."""
    from gridlib.models import load_model

    return load_model("tiny", device="cpu")
