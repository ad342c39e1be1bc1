"""Results files: one format, one writer, one reader.

Every runner (`python -m gridlib study | check | attack | fidelity`) writes its measurement through
`write_results`, which adds a `run` block saying how the file came to be: the command line and preset
that wrote it, the commit and package versions, the hardware, which toy weights were measured,
the wall time and the configuration. So any file can be traced and rewritten
(`python -m gridlib reproduce NAME`), and a page can say where each of its numbers comes from.
"""

import hashlib
import json
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import torch

from .files import save_json

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("torch", "diffusers", "transformers", "safetensors", "numpy")
TIME_FIELDS = ("wall_time_s", "train_s", "attack_s", "date")  # what differs between two runs of the same command


def toy_weights_id() -> str:
    """The first 12 hex digits of the shipped toy UNet's SHA-256: which toy model a results file measured."""
    from .models import TOY_ASSETS

    return hashlib.sha256((TOY_ASSETS / "unet.safetensors").read_bytes()).hexdigest()[:12]


def hardware(workers: int = 1, device: str = "cpu") -> str:
    """The machine a result was measured on, and how its runs shared it."""
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    if torch.device(device).type == "cuda":
        machine += f", runs on {torch.cuda.get_device_name(device)}"
    return machine if workers == 1 else f"{machine}; {workers} runs side by side, 1 thread each"


def commit() -> str | None:
    """The checked-out commit (with "+changes" when the tree differs from it), or None outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+changes" if status.stdout.strip() else "")


def versions() -> dict[str, str]:
    """The installed versions of the packages a measurement depends on, and Python's."""
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def write_results(
    path: str | Path,
    measured: dict,
    *,
    command: str,
    config: dict,
    started: float,
    model: str,
    preset: str | None = None,
    workers: int = 1,
    device: str = "cpu",
) -> dict:
    """Write a runner's measurement with its `run` block, atomically; returns what was written."""
    run = {
        "command": command,
        "preset": preset,
        "commit": commit(),
        "versions": versions(),
        "hardware": hardware(workers, device),
        "workers": workers,
        "model": model,
        "toy_weights": toy_weights_id() if model == "toy" else None,
        "date": time.strftime("%Y-%m-%d"),
        "wall_time_s": round(time.time() - started, 1),
        "config": config,
    }
    written = {"run": run, **measured}
    save_json(written, path)
    return written


def read_results(path: str | Path) -> dict | list[dict] | None:
    """A results file (.json, or .jsonl as a list of rows), or None with a message if it is missing."""
    path = Path(path)
    if not path.exists():
        print(f"{path} is missing: `python -m gridlib reproduce --list` names the command that writes it.")
        return None
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def provenance(result: dict) -> str:
    """One line on where a results file comes from: its command, time and machine."""
    run = result["run"]
    return f"{run['command']}: {run['wall_time_s'] / 60:.0f} min on {run['hardware']}, {run['date']}"


def without_time(result):
    """A results file's content with every time field removed: what two runs of one command must share."""
    if isinstance(result, dict):
        return {key: without_time(value) for key, value in result.items() if key not in TIME_FIELDS}
    if isinstance(result, list):
        return [without_time(value) for value in result]
    return result
