import json

from gridlib.claims import benchmark_table, report_claims
from gridlib.results import read_results


def _ablations():
    def entry(name, erasure, loss):
        runs = [{"target_left": e, "preservation": 0.95, "final_loss": loss} for e in erasure]
        summary = {"mean": sum(erasure) / len(erasure), "std": 0.01}
        return {"setting": name, "runs": runs, "target_left": summary, "preservation": {"mean": 0.95, "std": 0.0}}

    return {
        "target": "van_gogh",
        "baseline": {"van_gogh": 1.0},
        "study": {"base": {"ddim_steps": 10}},
        "results": [entry("none", [0.10, 0.11, 0.12], 0.02), entry("grid3_center", [0.10, 0.12, 0.11], 0.005)],
    }


def test_claims_without_results_name_the_missing_evidence():
    rows = report_claims(None, None, None)
    assert [row["claim"] for row in rows][0] == "80 trainable parameters"
    assert "80 tensors holding 43,962,560 scalars" in rows[0]["measured"]
    assert sum("results file is missing" in row["measured"] for row in rows) == 4  # the attack study too


def test_the_loss_claim_is_set_against_the_erasure_it_did_not_change():
    claims = report_claims(_ablations(), None, None)
    rows = {row["claim"]: row["measured"] for row in claims}
    assert {row["how"] for row in claims if "loss" in row["claim"] or "erasure" in row["claim"]} == {
        "`python -m gridlib reproduce ablations` (x_t sampled in 10 DDIM steps)"
    }
    loss_claim = rows["77% better final loss with grid masks"]
    assert "(75% lower)" in loss_claim and "+0.0 ± 0.8 points (within seed noise)" in loss_claim
    assert "held-out Van Gogh rate 100% before" in rows["clear erasure over baseline"]


def test_the_loss_claim_says_higher_when_the_grid_ended_higher():
    ablations = _ablations()
    for run in ablations["results"][1]["runs"]:
        run["final_loss"] = 0.03  # the grid's loss, against plain's 0.02
    rows = {row["claim"]: row["measured"] for row in report_claims(ablations, None, None)}
    assert "grid 0.0300 (50% higher)" in rows["77% better final loss with grid masks"]


def test_timing_claim_reads_the_erasure_check_and_the_benchmark():
    runs = [{"train_s": 40.1}, {"train_s": 58.8}, {"train_s": 41.0}]
    erasure = {"config": {"iterations": 200}, "runs": runs, "seeds": [0, 1, 2], "run": {"hardware": "x86_64, 2 threads"}}
    bench = [
        {"model": "toy", "xt_source": xt_source, "implementation": i, "s_per_iteration": s, "device": "cpu", "iterations_timed": 5}
        for xt_source, i, s in (
            ("sample", "reference", 0.5),
            ("sample", "gridlib", 0.4),
            ("noise", "reference", 0.2),
            ("noise", "gridlib", 0.1),
        )
    ]  # the toy recipe's route is noise
    row = next(r for r in report_claims(None, erasure, bench) if r["claim"] == "~16 s training")
    assert (
        "trained in 58.8 s (the slowest of 3 runs" in row["measured"]
        and "0.100 s per iteration" in row["measured"]
        and "0.200 s" in row["measured"]
    )
    assert "SD1.4 on a GPU was not measured" in row["measured"]
    gpu = {
        "model": "sd14-arch",
        "xt_source": "sample",
        "implementation": "gridlib",
        "s_per_iteration": 0.65,
        "device": "cuda",
        "hardware": "NVIDIA H200",
        "ddim_steps": 50,
        "iterations_timed": 5,
    }
    row = next(r for r in report_claims(None, erasure, [*bench, gpu]) if r["claim"] == "~16 s training")
    assert "on an NVIDIA H200, 0.65 s per iteration, so 100 iterations take about 65 s" in row["measured"]
    assert "not measured" not in row["measured"]


def test_read_results_reads_json_and_jsonl_and_reports_missing(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps({"x": 1}))
    (tmp_path / "b.jsonl").write_text('{"y": 1}\n{"y": 2}\n')
    assert read_results(tmp_path / "a.json") == {"x": 1}
    assert read_results(tmp_path / "b.jsonl") == [{"y": 1}, {"y": 2}]
    assert read_results(tmp_path / "c.json") is None and "c.json is missing" in capsys.readouterr().out


def test_benchmark_table_shows_the_latest_run_of_each_model_and_device_with_its_speed_ups():
    def row(implementation, seconds, day, device="cpu", **run):
        return {
            "model": "toy",
            "device": device,
            "hardware": "x86_64",
            "dtype": "float32",
            "xt_source": "noise",
            "implementation": implementation,
            "s_per_iteration": seconds,
            "peak_memory_GiB": 0.41,
            "memory_kind": "cpu_peak_rss_GiB",
            "date": day,
            **run,
        }

    rows = benchmark_table(
        [
            row("reference", 0.3, "2026-01-01"),
            row("gridlib", 0.2, "2026-01-01"),
            row("reference", 0.4, "2026-02-01", run="2026-02-01T10:00"),
            row("gridlib", 0.1, "2026-02-01", run="2026-02-01T10:00"),
            row("gridlib", 0.05, "2026-02-01", device="cuda", run="2026-02-01T11:00"),
        ],
        detail=True,
    )
    assert [(r["device"], r["implementation"], r["s / iteration"], r["speed-up"]) for r in rows] == [
        ("cpu (x86_64)", "reference", "0.400", "1.00x"),
        ("cpu (x86_64)", "gridlib", "0.100", "4.00x"),
        ("cuda (x86_64)", "gridlib", "0.050", "no reference in this run"),
    ]
    assert rows[0]["GPU busy s / iteration (speed-up)"].startswith("not measured")
    on_gpu = benchmark_table(
        [
            row("reference", 0.3, "2026-03-01", device="cuda", run="r", gpu_busy_s_per_iteration=0.2),
            row("gridlib", 0.3, "2026-03-01", device="cuda", run="r", gpu_busy_s_per_iteration=0.05),
        ],
        detail=True,
    )
    assert [r["GPU busy s / iteration (speed-up)"] for r in on_gpu] == ["0.200 (1.00x)", "0.050 (4.00x)"]
    headline = benchmark_table([row("gridlib", 0.05, "2026-02-01", device="cuda", run="x")])
    assert len(headline[0]) <= 5 and headline[0]["model on device, x_t"] == "toy on x86_64, noise"  # the GPU's name is the hardware field


def test_benchmark_table_adds_the_latest_paired_speed_up_of_each_setting():
    row = {
        "model": "toy",
        "device": "cpu",
        "hardware": "x86_64",
        "dtype": "float32",
        "xt_source": "noise",
        "implementation": "gridlib",
        "s_per_iteration": 0.1,
        "peak_memory_GiB": 0.41,
        "memory_kind": "cpu_peak_rss_GiB",
        "date": "2026-02-01",
        "run": "r",
    }
    setting = {key: row[key] for key in ("model", "device", "hardware", "dtype", "xt_source", "implementation")}
    paired = [{**setting, "paired_speedup": s} for s in (1.2, 1.4)]
    assert benchmark_table([row], paired)[0]["paired speed-up"] == "1.40x"
    assert benchmark_table([row], paired[:0])[0]["paired speed-up"] == benchmark_table([row])[0]["paired speed-up"] == "not measured"
    assert benchmark_table([{**row, "xt_source": "sample"}], paired)[0]["paired speed-up"] == "not measured"
    for other in ({"hardware": "another GPU"}, {"dtype": "bfloat16"}):  # another machine's or precision's figure is not this row's
        assert benchmark_table([row], [{**paired[0], **other}])[0]["paired speed-up"] == "not measured"
    sampled = {**row, "xt_source": "sample"}  # on the sampled route the model sampling x_t matters; on the noise route it does not
    assert (
        benchmark_table([sampled], [{**setting, "xt_source": "sample", "sampler": "frozen", "paired_speedup": 2.0}])[0]["paired speed-up"]
        == "not measured"
    )
    assert benchmark_table([row], [{**paired[0], "sampler": "frozen"}])[0]["paired speed-up"] == "1.20x"


def test_future_work_rows_report_each_concept_map_against_plain_esd_x():
    from gridlib.claims import future_work_rows

    def entry(name, erasure):
        return {"setting": name, "runs": [{"target_left": e, "preservation": 0.9} for e in erasure]}

    study = {"study": {"seeds": [0, 1, 2]}, "results": [entry("none", [0.1, 0.12, 0.14]), entry("adaptive_grid_3", [0.02, 0.03, 0.04])]}
    adaptive, semantic = future_work_rows(study)
    assert (
        "3 seeds" in adaptive["measured"]
        and "adaptive_grid_3: Van Gogh left -9.0 ± 1.3 points (beyond seed noise), other styles kept +0.0 ± 0.0" in adaptive["measured"]
    )
    assert semantic["measured"].startswith("not measured")
    assert future_work_rows(None)[0]["measured"].startswith("not measured")


def test_the_attack_claim_reads_every_variant_against_the_ceiling():
    def entry(successes, images):
        return {"van_gogh_after_attack": {"successes": successes, "images": images}}

    summary = [{"variant": "original", **entry(110, 120)}, {"variant": "esd_x", **entry(30, 120)}]
    attacks = {"study": {"seeds": [0, 1, 2], "inversion": {"steps": 300}}, "summary": summary}
    row = next(r for r in report_claims(None, None, None, attacks) if r["claim"] == "erased concepts can be recovered")
    assert "300 inversion steps, 3 seeds" in row["measured"]
    assert "original model (ceiling) 91.7% (85–95); ESD-X 25.0% (18–33)" in row["measured"]
