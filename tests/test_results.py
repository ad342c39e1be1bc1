"""Every committed results file: named by a preset, written in the one format, and measured as its preset says."""

import json

import pytest

from gridlib import cli
from gridlib.presets import PRESETS, Preset
from gridlib.results import ROOT, read_results, toy_weights_id, without_time, write_results

RESULTS = ROOT / "results"


def test_every_results_file_has_a_preset_and_every_preset_a_file():
    files = {str(path.relative_to(ROOT)) for path in RESULTS.rglob("*.json")}
    assert files == {preset.file for preset in PRESETS.values()}


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_file_records_its_command_and_the_configuration_its_preset_plans(name):
    """The preset's command, planned today, asks for exactly what the file measured, on the shipped toy weights."""
    preset, result = PRESETS[name], read_results(ROOT / PRESETS[name].file)
    run = result["run"]
    argv = [*preset.command, "--out", preset.file]
    assert run["command"] == "python -m gridlib " + " ".join(argv) and run["preset"] == name
    assert {"commit", "versions", "hardware", "wall_time_s", "date"} <= set(run) and run["versions"]["torch"]
    assert run["toy_weights"] == toy_weights_id()
    planned, _ = cli.plan(argv)
    assert json.loads(json.dumps(planned.config)) == run["config"]


def test_reproduce_lists_every_preset_with_its_file_and_time(capsys):
    cli.main(["reproduce", "--list"])
    printed = capsys.readouterr().out
    assert all(name in printed and preset.file in printed and f"about {preset.minutes} min" in printed for name, preset in PRESETS.items())


def test_reproducing_a_preset_rewrites_its_file_identically_apart_from_time(tmp_path, monkeypatch):
    """A small preset on the tiny tier, run twice: the same file both times, but for wall times and the date."""
    out = tmp_path / "small.json"
    small = ("check", "--model", "tiny", "--seeds", "0", "--iterations", "2", "--cases-per-style", "1", "--image-seeds", "5000",
             "--sample-steps", "2", "--work-dir", str(tmp_path / "runs"))  # fmt: skip
    monkeypatch.setitem(PRESETS, "small", Preset(str(out), small, "a tiny check", 1))
    cli.main(["reproduce", "small"])
    first = read_results(out)
    cli.main(["reproduce", "small"])
    second = read_results(out)
    assert without_time(first) == without_time(second) and first["run"]["preset"] == "small"
    assert first["run"]["model"] == "tiny" and first["run"]["toy_weights"] is None and first["runs"][0]["rows"]
    assert without_time(first) != without_time({**first, "runs": []})  # the comparison sees the measurement


def test_the_writer_records_where_and_how_and_leaves_nothing_half_written(tmp_path):
    written = write_results(tmp_path / "r.json", {"x": 1}, command="python -m gridlib x", config={"a": 1}, started=0.0, model="toy")
    assert read_results(tmp_path / "r.json") == written and written["x"] == 1
    assert written["run"]["config"] == {"a": 1} and written["run"]["toy_weights"] == toy_weights_id()
    assert [path.name for path in tmp_path.iterdir()] == ["r.json"]
    assert read_results(tmp_path / "missing.json") is None


def test_time_fields_are_the_only_ones_left_out():
    result = {"run": {"wall_time_s": 3, "date": "d", "commit": "c"}, "runs": [{"train_s": 1, "final_loss": 0.5, "attack_s": 2}]}
    assert without_time(result) == {"run": {"commit": "c"}, "runs": [{"final_loss": 0.5}]}


def test_no_page_or_readme_asks_the_reader_to_type_python_c():
    book = [path for path in (ROOT / "book").iterdir() if path.suffix in (".md", ".ipynb", ".bib")]  # not the runs/ a build leaves
    pages = [ROOT / "README.md", *book, *(ROOT / "notebooks").glob("*.ipynb"), ROOT / "benchmarks" / "RESULTS.md"]
    assert not [page.name for page in pages if "python -c" in page.read_text()]
