"""Every chapter runs top to bottom with papermill on the toy model; bad parameters fail clearly."""

from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from gridlib.book import NOTEBOOKS, ROOT, TEST_PARAMETERS, check_pages, execute, render_html, stage_and_execute

CHAPTERS = [n for n in NOTEBOOKS if n.startswith("notebooks/")]


def _isolated(notebook: str, tmp_path) -> dict:
    """Test parameters, with every output folder redirected into tmp_path."""
    parameters = dict(TEST_PARAMETERS.get(notebook, {}))
    if notebook.endswith("03_training.ipynb"):
        parameters["out_dir"] = str(tmp_path / "van_gogh")
    if notebook.endswith("04_evaluation.ipynb"):
        parameters["erasure_dir"] = str(tmp_path / "van_gogh")
    if notebook.endswith("05_ablations.ipynb"):
        parameters["work_dir"] = str(tmp_path / "ablations")
    return parameters


@pytest.fixture(scope="session")
def executed_book(tmp_path_factory):
    """Every notebook executed once, in book order, into a staged copy of the book (small parameters)."""
    work = tmp_path_factory.mktemp("book")
    stage_and_execute(work / "stage", {notebook: _isolated(notebook, work) for notebook in NOTEBOOKS})
    return work


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
    """Render the executed book and open each page in headless Chromium: present, titled, no broken image."""
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    html = render_html(executed_book / "stage", executed_book / "html")
    report = check_pages(html, screenshots=executed_book / "screenshots")
    for page, seen in report.items():
        assert not seen["missing"], f"{page} was not built"
        assert seen["title"] and not seen["broken"] and not seen["raw_tables"], (page, seen)
    for chapter in ("notebooks/01_grid_masks.html", "notebooks/04_evaluation.html", "book/toyworld.html"):
        assert report[chapter]["images"] >= 2, (chapter, report[chapter])
    assert report["book/results.html"]["tables"] >= 4 and report["notebooks/05_ablations.html"]["tables"] >= 4
    assert len(list((executed_book / "screenshots").glob("*.png"))) == len(report)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebooks_are_committed_clean_with_a_parameters_cell(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells), "outputs committed"
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in code_cells) == 1


@pytest.mark.parametrize("notebook", CHAPTERS)
def test_chapters_install_from_the_configured_repository_only_in_colab(notebook):
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    setup = nbformat.read(ROOT / notebook, as_version=4).cells[1]
    assert "colab-setup" in setup.metadata.get("tags", [])
    assert 'if "google.colab" in sys.modules:' in setup.source and f'REPO_URL = "{repository}"' in setup.source


def test_the_toc_lists_every_page():
    toc = (ROOT / "_toc.yml").read_text()
    for notebook in NOTEBOOKS:
        assert notebook.removesuffix(".ipynb") in toc


@pytest.mark.parametrize(
    "notebook, parameters, message",
    [
        ("notebooks/03_training.ipynb", {"model_name": "sd15"}, "model name must be one of"),
        ("notebooks/03_training.ipynb", {"masks": "grid9", "iterations": 2}, "masks must be one of"),
        ("notebooks/03_training.ipynb", {"iterations": 0}, "iterations must be a positive integer, got 0"),
        ("notebooks/03_training.ipynb", {"xt_source": "image", "iterations": 2}, "xt_source must be one of"),
        ("notebooks/01_grid_masks.ipynb", {"height": 0}, "height must be a positive integer, got 0"),
        ("notebooks/04_evaluation.ipynb", {"model_name": "toy-model"}, "model name must be one of"),
        ("notebooks/05_ablations.ipynb", {"settings": ["grid9"], "iterations": 2}, "setting must be one of"),
    ],
)
def test_bad_notebook_parameters_fail_with_one_clear_error(notebook, parameters, message, tmp_path):
    parameters = {**_isolated(notebook, tmp_path), **parameters}
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        execute(notebook, tmp_path / "executed.ipynb", parameters)
    assert failure.value.ename == "ValueError" and message in failure.value.evalue
    assert not (tmp_path / "van_gogh").exists()  # nothing half-written
