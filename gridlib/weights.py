"""Erasure weights on disk: only the trained tensors, plus what is needed to use them safely.

An erasure folder holds two files:
- `erasure.safetensors`: the trained tensors, keyed by their UNet parameter names;
- `metadata.json`: the base model, the architecture's fingerprint (every UNet tensor's name and
  shape), the training config, the loss history and the gridlib version.

`apply_erasure` refuses weights made for another architecture, and `load_erasure` refuses
anything that is not exactly such a pair of files: pickles, truncated files, bad metadata.
"""

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel
from safetensors import SafetensorError
from safetensors.torch import load_file

from .files import save_json, save_tensors
from .models import DiffusionModel

WEIGHTS_FILE = "erasure.safetensors"
METADATA_FILE = "metadata.json"
REQUIRED_METADATA = ("format", "base_model", "fingerprint", "architecture", "trained_tensors", "config", "loss_history", "gridlib_version")
FORMAT = "gridlib-erasure-1"
_PICKLE_STARTS = (b"\x80", b"PK\x03\x04")  # a raw pickle, or torch.save's zip archive


def gridlib_version() -> str:
    try:
        return version("gridlib")
    except PackageNotFoundError:
        return "unknown"


def architecture(unet: UNet2DConditionModel) -> list[list]:
    """Every UNet tensor as [name, shape], in the model's order."""
    return [[name, list(t.shape)] for name, t in unet.state_dict().items()]


def fingerprint(unet: UNet2DConditionModel) -> str:
    """A short hash of the architecture: equal fingerprints mean the same names and shapes."""
    return hashlib.sha256(json.dumps(architecture(unet)).encode()).hexdigest()[:16]


def save_erasure(
    unet: UNet2DConditionModel,
    trained_names: list[str],
    folder: str | Path,
    base_model: str,
    config: dict,
    loss_history: list[float],
    unet_passes: dict | None = None,
) -> Path:
    """Write the trained tensors and their metadata into `folder` (each file atomically)."""
    folder = Path(folder)
    parameters = dict(unet.named_parameters())
    save_tensors({name: parameters[name] for name in trained_names}, folder / WEIGHTS_FILE)
    metadata = {
        "format": FORMAT,
        "base_model": base_model,
        "fingerprint": fingerprint(unet),
        "architecture": architecture(unet),
        "trained_tensors": list(trained_names),
        "config": config,
        "loss_history": [float(x) for x in loss_history],
        "unet_passes": unet_passes or {},
        "gridlib_version": gridlib_version(),
    }
    save_json(metadata, folder / METADATA_FILE)
    return folder


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file, or one clear ValueError for a pickle, a truncated or a corrupt file."""
    if not path.is_file():
        raise ValueError(f"{path} does not exist; an erasure folder holds {WEIGHTS_FILE} and {METADATA_FILE}")
    with open(path, "rb") as handle:
        start = handle.read(4)
    if start.startswith(_PICKLE_STARTS):
        raise ValueError(f"{path} is a pickle (torch.save) file; gridlib reads only safetensors, never pickles")
    try:
        return load_file(path)
    except (SafetensorError, OSError, RuntimeError) as error:
        raise ValueError(f"{path} is not a valid safetensors file (truncated or corrupted?): {error}") from error


def read_metadata(path: Path) -> dict:
    """metadata.json, checked for every field gridlib relies on."""
    if not path.is_file():
        raise ValueError(f"{path} is missing; it records which model and architecture the weights belong to")
    try:
        metadata = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(metadata, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(metadata).__name__}")
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"{path} lacks the fields {missing}; required: {list(REQUIRED_METADATA)}")
    if metadata["format"] != FORMAT:
        raise ValueError(f"{path} has format {metadata['format']!r}; this gridlib reads {FORMAT!r}")
    return metadata


def load_erasure(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The trained tensors and metadata from an erasure folder, checked against each other."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"erasure folder {folder} does not exist")
    metadata = read_metadata(folder / METADATA_FILE)
    tensors = read_safetensors(folder / WEIGHTS_FILE)
    listed, stored = set(metadata["trained_tensors"]), set(tensors)
    if listed != stored:
        raise ValueError(
            f"{folder}: tensors missing from {WEIGHTS_FILE}: {sorted(listed - stored)[:3]}; "
            f"unexpected tensors: {sorted(stored - listed)[:3]}"
        )
    return tensors, metadata


def _first_architecture_difference(expected: list[list], actual: list[list]) -> str:
    for (name_a, shape_a), (name_b, shape_b) in zip(expected, actual, strict=False):
        if name_a != name_b or shape_a != shape_b:
            return f"the weights expect {name_a} {shape_a}, this model has {name_b} {shape_b}"
    return f"the weights expect {len(expected)} tensors, this model has {len(actual)}"


def apply_erasure(model: DiffusionModel, folder: str | Path) -> dict:
    """Load erasure weights into the model's UNet in place; returns the metadata.

    Refuses, naming the first difference, a model whose architecture is not the one trained.
    """
    tensors, metadata = load_erasure(folder)
    unet = model.unet
    if metadata["fingerprint"] != fingerprint(unet):
        difference = _first_architecture_difference(metadata["architecture"], architecture(unet))
        raise ValueError(f"erasure in {folder} was trained on another architecture ({metadata['base_model']}): {difference}")
    parameters = dict(unet.named_parameters())
    for name, tensor in tensors.items():
        target = parameters[name]
        if tensor.shape != target.shape:
            raise ValueError(f"{name}: stored shape {list(tensor.shape)}, model shape {list(target.shape)}")
        if not tensor.is_floating_point():
            raise ValueError(f"{name}: stored dtype {tensor.dtype} is not a floating-point dtype")
    with torch.no_grad():
        for name, tensor in tensors.items():
            parameters[name].copy_(tensor.to(parameters[name].dtype))
    return metadata
