"""Atomic file writes: a file is complete under its real name, or not there at all.

Everything gridlib saves goes through here. Each file is written to a temporary name in the
same folder, flushed to disk, and renamed over the target, so a run killed mid-save never
leaves a half-written file that a later load would take as valid.
"""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import save_file


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it to `path`, on failure delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; saved weights are ordinary files
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def save_tensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write tensors as safetensors, atomically (contiguous CPU copies, as the format requires)."""
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata=metadata)


def save_json(data: object, path: str | Path) -> None:
    """Write JSON, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=1))
