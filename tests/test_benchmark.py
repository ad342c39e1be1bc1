import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).parent.parent / "benchmarks" / "esd_step.py"


@pytest.mark.slow
def test_benchmark_compares_equals_and_writes_one_line_per_setting(tmp_path):
    out = tmp_path / "results.jsonl"
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", "--iterations", "2", "--warmup", "1", "--ddim-steps", "4", "--out", str(out)]
    table = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    implementations = ("reference", "reference-attn2-grads", "gridlib")
    assert [(r["xt_source"], r["implementation"]) for r in rows] == [(s, i) for s in ("sample", "noise") for i in implementations]
    for source in ("sample", "noise"):
        reference, lean_reference, ours = (r for r in rows if r["xt_source"] == source)
        for row in (lean_reference, ours):  # same draws, same loss: a comparison of equals
            assert row["losses"] == pytest.approx(reference["losses"], rel=1e-4)
            assert 0 < row["s_without_xt"] <= row["s_per_iteration"] and row["peak_memory_GiB"] > 0
    assert "speed-up" in table and table.count("gridlib") == 2


@pytest.mark.slow
def test_rounds_run_each_setting_in_rotation_and_report_their_median(tmp_path):
    out = tmp_path / "results.jsonl"
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", "--quick", "--rounds", "3", "--sources", "noise", "--out", str(out)]
    subprocess.run(command, capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["implementation"] for row in rows] == ["reference", "gridlib"]  # --quick compares the two the targets name
    for row in rows:
        assert row["rounds"] == 3 and row["s_per_iteration"] == sorted(row["s_per_iteration_by_round"])[1]


@pytest.mark.slow
def test_paired_timing_takes_turns_on_the_same_draws(tmp_path):
    out = tmp_path / "paired.jsonl"
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", "--paired", "--iterations", "3", "--warmup", "1", "--sources", "noise",
               "--ddim-steps", "4", "--out", str(out)]  # fmt: skip
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    reference, lean_reference, ours = (json.loads(line) for line in out.read_text().splitlines())
    assert [row["implementation"] for row in (reference, lean_reference, ours)] == ["reference", "reference-attn2-grads", "gridlib"]
    assert reference["paired_speedup"] == 1.0 and ours["paired_speedup"] > 0 and "paired speed-up" in printed
    assert ours["losses"] == pytest.approx(reference["losses"], rel=1e-4) and len(ours["losses"]) == 6  # whole batches of 3
    assert (reference["targets_ahead"], ours["targets_ahead"]) == (None, 3)


@pytest.mark.slow
def test_gradient_checkpointing_changes_memory_not_the_loss(tmp_path):
    out = tmp_path / "results.jsonl"
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", "--iterations", "2", "--warmup", "1", "--sources", "noise",
               "--implementations", "gridlib,gridlib-checkpointed", "--out", str(out)]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, check=True)
    plain, checkpointed = (json.loads(line) for line in out.read_text().splitlines())
    assert checkpointed["implementation"] == "gridlib-checkpointed"
    assert checkpointed["losses"] == pytest.approx(plain["losses"], rel=1e-5)
    assert checkpointed["saved_for_backward_GiB"] < plain["saved_for_backward_GiB"]


def test_benchmark_refuses_an_unknown_implementation():
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", "--implementations", "gridlib,fast"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and "got 'fast'" in result.stderr and "gridlib-checkpointed" in result.stderr


def test_benchmark_refuses_no_targets_ahead():
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", "--targets-ahead", "0"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and "--targets-ahead must be at least 1, got 0" in result.stderr


def test_paired_timing_refuses_rounds():
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", "--paired", "--rounds", "3"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and "--rounds does not apply" in result.stderr and "got 3" in result.stderr


def test_forward_benchmark_times_each_option(tmp_path):
    out = tmp_path / "forward.jsonl"
    command = [sys.executable, str(BENCHMARK.parent / "unet_forward.py"), "--model", "tiny", "--repeats", "2",
               "--options", "no_grad,inference_mode,channels_last,bfloat16", "--out", str(out)]  # fmt: skip
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["option"] for r in rows] == ["no_grad", "inference_mode", "channels_last", "bfloat16"]
    assert all(r["ms_per_pass"] > 0 for r in rows) and "vs no_grad" in printed


@pytest.mark.parametrize("option, message", [("--warmup", "--warmup must be at least 1"), ("--rounds", "--rounds must be at least 1")])
def test_benchmark_refuses_a_run_without_warm_up_or_rounds(option, message):
    command = [sys.executable, str(BENCHMARK), "--model", "tiny", option, "0"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr and "got 0" in result.stderr
