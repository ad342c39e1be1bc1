"""Every chapter runs top to bottom with papermill on the toy model; bad parameters fail clearly."""

import json
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from gridlib.book import NOTEBOOKS, ROOT, TEST_PARAMETERS, check_pages, execute, render_html, stage_and_execute
from gridlib.masks import grid3_center_masks
from gridlib.measure import sample_cases
from gridlib.models import load_model
from gridlib.settings import recipe
from gridlib.studies import live_study


def _isolated(notebook: str, tmp_path) -> dict:
    """Test parameters, with every output folder redirected into tmp_path."""
    parameters = dict(TEST_PARAMETERS.get(notebook, {}))
    if notebook.endswith("03_training.ipynb"):
        parameters["out_dir"] = str(tmp_path / "van_gogh")
    if notebook.endswith("intro.ipynb"):
        parameters["out_dir"] = str(tmp_path / "intro")
    if notebook.endswith(("04_evaluation.ipynb", "07_really_gone.ipynb")):
        parameters["erasure_dir"] = str(tmp_path / "van_gogh")
    if notebook.endswith("05_ablations.ipynb"):
        parameters["work_dir"] = str(tmp_path / "ablations")
    if notebook.endswith("06_concept_masks.ipynb"):
        parameters["work_dir"] = str(tmp_path / "concept_maps")
    return parameters


@pytest.fixture(scope="session")
def executed_book(tmp_path_factory):
    """Every notebook executed once, in book order, into a staged copy of the book (small parameters)."""
    work = tmp_path_factory.mktemp("book")
    stage_and_execute(work / "stage", {notebook: _isolated(notebook, work) for notebook in NOTEBOOKS})
    return work


# Every chapter that loads a model, on Stable Diffusion's code path: an SD-layout folder written from the
# tiny model and a tiny CLIP judge in a folder, so the `model_name = "sd14"` branches all run offline.
SD_CHAPTER_PARAMETERS = {
    "notebooks/02_esd_x_objective.ipynb": {"device": "cpu"},
    "notebooks/03_training.ipynb": {"iterations": 2, "device": "cpu"},
    "notebooks/04_evaluation.ipynb": {"cases_per_style": 2, "sample_steps": 2, "comparison_seeds": [5000, 5001], "device": "cpu"},
    "notebooks/07_really_gone.ipynb": {
        "attack_steps": 2,
        "attack_pictures": 2,
        "attack_batch": 1,
        "sample_steps": 2,
        "cases_per_style": 2,
        "device": "cpu",
    },
    "notebooks/05_ablations.ipynb": {"iterations": 2, "cases_per_style": 2, "sample_steps": 2},
    "notebooks/06_concept_masks.ipynb": {"iterations": 2, "cases_per_style": 2, "sample_steps": 2, "device": "cpu"},
}


@pytest.mark.slow
@pytest.mark.parametrize("notebook", SD_CHAPTER_PARAMETERS)
def test_chapter_runs_on_the_stable_diffusion_path_offline(notebook, tmp_path_factory):
    from gridlib.offline import save_sd_layout, save_tiny_clip, tiny_sd_model

    work = tmp_path_factory.getbasetemp() / "sd_standin"
    if not (work / "sd" / "unet").exists():
        save_sd_layout(tiny_sd_model(), work / "sd")
        save_tiny_clip(work / "clip")
    parameters = {**_isolated(notebook, work), **SD_CHAPTER_PARAMETERS[notebook], "model_name": str(work / "sd")}
    if notebook.endswith(("04_evaluation.ipynb", "05_ablations.ipynb", "06_concept_masks.ipynb", "07_really_gone.ipynb")):
        parameters["judge"] = str(work / "clip")
    output = tmp_path_factory.mktemp("sd_chapter") / "executed.ipynb"
    execute(notebook, output, parameters)
    text = output.read_text()
    assert str(work / "sd") in text
    if notebook.endswith("03_training.ipynb"):
        assert (work / "van_gogh" / "metadata.json").exists()
    if notebook.endswith("04_evaluation.ipynb"):
        assert "Vincent van Gogh" in text and "Katsushika Hokusai" in text  # the SD suite, judged by CLIP


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_on_the_toy_model(notebook, executed_book):
    executed = nbformat.read(executed_book / "stage" / notebook, as_version=4)
    code_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells)
    assert not [o for cell in code_cells for o in cell.get("outputs", []) if o.output_type == "error"]
    if notebook.endswith("03_training.ipynb"):
        assert (executed_book / "van_gogh" / "erasure.safetensors").exists() and (executed_book / "van_gogh" / "metadata.json").exists()


@pytest.mark.slow
def test_the_built_book_shows_every_page_with_its_figures(executed_book):
    """Render the executed book and open each page in headless Chromium: present, titled, no broken image, no raw TeX,
    no stderr output, nothing wider than the text column, and the Colab setup cell on every page with a Colab button."""
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    html = render_html(executed_book / "stage", executed_book / "html")
    report = check_pages(html, screenshots=executed_book / "screenshots")
    for page, seen in report.items():
        assert not seen["missing"], f"{page} was not built"
        assert seen["title"] and not seen["broken"] and not seen["raw_tables"], (page, seen)
        assert not seen["raw_tex"] and not seen["stderr"] and not seen["overflow"], (page, seen)
        assert seen["setup_cell"] or not seen["colab_button"], (page, seen)
    for chapter in ("notebooks/01_grid_masks.html", "notebooks/04_evaluation.html", "book/toyworld.html"):
        assert report[chapter]["images"] >= 2, (chapter, report[chapter])
    assert report["book/results.html"]["tables"] >= 3 and report["notebooks/05_ablations.html"]["tables"] >= 8
    assert report["book/recipe_choice.html"]["tables"] >= 8 and report["book/benchmarks.html"]["tables"] >= 2
    assert sum(seen["colab_button"] for seen in report.values()) >= len(NOTEBOOKS)  # the check above is not vacuous
    assert len(list((executed_book / "screenshots").glob("*.png"))) == len(report)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebooks_are_committed_clean_with_a_parameters_cell(notebook):
    ids = [cell.get("id") for cell in json.loads((ROOT / notebook).read_text())["cells"]]
    assert None not in ids and len(set(ids)) == len(ids), "every cell needs its own id (nbformat 4.5)"
    nb = nbformat.read(ROOT / notebook, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells), "outputs committed"
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in code_cells) == 1


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_page_gets_the_book_from_the_configured_repository_only_in_colab(notebook):
    """Every notebook page has a launch button, so each one sets itself up in Colab: the repository named in
    _config.yml, cloned with its results files, gridlib installed from it, and the page's own folder entered."""
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    setup = nbformat.read(ROOT / notebook, as_version=4).cells[1]
    assert "colab-setup" in setup.metadata.get("tags", [])
    assert 'if "google.colab" in sys.modules:' in setup.source and f'REPO_URL = "{repository}"' in setup.source
    assert f'os.chdir(f"{{BOOK}}/{notebook.split("/")[0]}")' in setup.source and "set REPO_URL above" in setup.source


def test_the_colab_setup_cell_clones_installs_and_enters_the_pages_folder(tmp_path, monkeypatch):
    """Run the setup cell as Colab would, with git and pip replaced by recorders: what it runs, and where it ends."""
    import os
    import subprocess
    import sys
    import types

    source = nbformat.read(ROOT / "notebooks/03_training.ipynb", as_version=4).cells[1].source
    ran = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda command: ran.append(command) or types.SimpleNamespace(returncode=0))
    monkeypatch.setattr(os, "chdir", lambda folder: ran.append(["cd", folder]))
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(source, {})
    assert ran[0][:4] == ["git", "clone", "--depth", "1"] and ran[1][-2:] == ["-e", "/content/grid-esd-book[eval]"]
    assert ran[2] == ["cd", "/content/grid-esd-book/notebooks"] and sys.path[0] == "/content/grid-esd-book"
    monkeypatch.setattr(subprocess, "run", lambda command: types.SimpleNamespace(returncode=1))
    with pytest.raises(RuntimeError, match="set REPO_URL above to the repository that holds this book"):
        exec(source, {})


def test_the_toc_lists_every_page():
    toc = (ROOT / "_toc.yml").read_text()
    for notebook in NOTEBOOKS:
        assert notebook.removesuffix(".ipynb") in toc


@pytest.mark.slow  # a child process
def test_a_bad_notebook_parameter_fails_with_one_clear_error_and_writes_nothing(tmp_path):
    """One chapter run end to end through papermill with a bad parameter; the other parameters go through
    the same validators (next test), which need no kernel."""
    parameters = {**_isolated("notebooks/03_training.ipynb", tmp_path), "masks": "grid9"}
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        execute("notebooks/03_training.ipynb", tmp_path / "executed.ipynb", parameters)
    assert failure.value.ename == "ValueError" and "masks must be one of" in failure.value.evalue
    assert not (tmp_path / "van_gogh").exists()  # nothing half-written


@pytest.mark.parametrize(
    "chapter, check, message",
    [
        ("2-5: model_name", lambda: load_model("sd15"), "model name must be one of"),
        ("3: iterations", lambda: recipe("toy", iterations=0).validate(), "iterations must be a positive integer, got 0"),
        ("3: xt_source", lambda: recipe("toy", xt_source="image").validate(), "xt_source must be one of"),
        ("1: height", lambda: grid3_center_masks(0, 64), "height must be a positive integer, got 0"),
        ("4: cases_per_style", lambda: sample_cases([], 0), "per_style must be a positive integer"),
        ("5: settings", lambda: live_study("toy", ["grid9"], [0], 2, 2), "setting must be one of"),
        ("5: seeds", lambda: live_study("toy", ["none"], [-1], 2, 2), "seeds must be non-negative integers"),
    ],
)
def test_each_chapter_parameter_is_checked_by_the_validator_its_chapter_calls(chapter, check, message):
    with pytest.raises(ValueError, match=message):
        check()
