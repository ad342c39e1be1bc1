import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).parent.parent / "benchmarks" / "esd_step.py"


def _command(flags: str, *more: str, script: Path = BENCHMARK) -> list[str]:
    """A benchmark script's command line: this Python, the script, the flags (space-separated), then `more`."""
    return [sys.executable, str(script), *flags.split(), *more]


@pytest.mark.slow
def test_rounds_run_each_setting_in_its_own_process_and_report_their_median(tmp_path):
    """gridlib's step in its own process, two rounds, on the sampled route, where the time without x_t is a real
    subtraction (the paired test compares every implementation's losses on the same draws)."""
    out = tmp_path / "results.jsonl"
    command = _command("--model tiny --quick --rounds 2 --ddim-steps 4 --sources sample --implementations gridlib --out", str(out))
    table = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    (ours,) = (json.loads(line) for line in out.read_text().splitlines())
    assert ours["implementation"] == "gridlib" and ours["rounds"] == 2
    assert ours["s_per_iteration"] == pytest.approx(sum(ours["s_per_iteration_by_round"]) / 2)
    assert 0 < ours["s_without_xt"] <= ours["s_per_iteration"] and ours["peak_memory_GiB"] > 0
    assert "gridlib" in table


@pytest.mark.slow
def test_paired_timing_takes_turns_on_the_same_draws(tmp_path):
    out = tmp_path / "paired.jsonl"
    command = _command("--model tiny --paired --iterations 3 --warmup 1 --sources noise --ddim-steps 4 --out", str(out))
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    reference, lean_reference, ours = (json.loads(line) for line in out.read_text().splitlines())
    assert [row["implementation"] for row in (reference, lean_reference, ours)] == ["reference", "reference-attn2-grads", "gridlib"]
    assert reference["paired_speedup"] == 1.0 and ours["paired_speedup"] > 0 and "paired speed-up" in printed
    assert ours["losses"] == pytest.approx(reference["losses"], rel=1e-4) and len(ours["losses"]) == 6  # whole batches of 3
    assert (reference["targets_ahead"], ours["targets_ahead"]) == (None, 3)


@pytest.mark.slow
def test_gradient_checkpointing_changes_memory_not_the_loss(capsys):
    """Two worker runs in this process (each prints its row): the saved activations are counted per run."""
    rows = []
    for implementation in ("gridlib", "gridlib-checkpointed"):
        flags = f"--model tiny --iterations 2 --warmup 1 --implementation {implementation} --xt-source noise"
        _benchmark_module("esd_step").main(flags.split())
        rows.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    plain, checkpointed = rows
    assert checkpointed["implementation"] == "gridlib-checkpointed"
    assert checkpointed["losses"] == pytest.approx(plain["losses"], rel=1e-5)
    assert checkpointed["saved_for_backward_GiB"] < plain["saved_for_backward_GiB"]


def _benchmark_module(name: str):
    """A benchmark script imported as a module, so its argument checks run in this process."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARK.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--implementations", "gridlib,fast"], "got 'fast'"),
        (["--targets-ahead", "0"], "--targets-ahead must be at least 1, got 0"),
        (["--paired", "--rounds", "3"], "--rounds does not apply"),
        (["--warmup", "0"], "--warmup must be at least 1"),
        (["--rounds", "0"], "--rounds must be at least 1, got 0"),
    ],
)
def test_benchmark_refuses_bad_flags_with_one_message(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        _benchmark_module("esd_step").main(["--model", "tiny", *flags])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.slow
def test_t4_fit_measures_both_chapters_on_the_sd_code_path(tmp_path):
    out = tmp_path / "t4.jsonl"
    row = _benchmark_module("t4_fit").main(
        ["--model", "tiny", "--device", "cpu", "--iterations", "1", "--sample-steps", "2", "--work-dir", str(tmp_path), "--out", str(out)]
    )
    assert json.loads(out.read_text()) == row
    assert row["chapter3_peak_GiB"] > 0 and row["chapter4_peak_GiB"] > 0 and row["judged"] == 2 * row["batch_size"]
    assert row["chapter4_images"] == 2 * (8 * 2 * 2 * 2 + 5 * 5)  # 2 models x (8 styles x 2 splits x 2 cases x 2 seeds + the grid)


def test_t4_fit_refuses_no_iterations(capsys):
    with pytest.raises(SystemExit):
        _benchmark_module("t4_fit").main(["--model", "tiny", "--iterations", "0"])
    assert "--iterations must be a positive integer, got 0" in capsys.readouterr().err


def test_forward_benchmark_times_each_option(tmp_path):
    out = tmp_path / "forward.jsonl"
    command = _command(
        "--model tiny --repeats 2 --options no_grad,inference_mode,channels_last,bfloat16 --out",
        str(out),
        script=BENCHMARK.parent / "unet_forward.py",
    )
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["option"] for r in rows] == ["no_grad", "inference_mode", "channels_last", "bfloat16"]
    assert all(r["ms_per_pass"] > 0 for r in rows) and "vs no_grad" in printed
