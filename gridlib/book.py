"""Build the book: execute every notebook once with papermill, then render the executed copies.

    python -m gridlib book build         # what `make book` runs: toy model, CPU, _build/html
    python -m gridlib book screenshots   # open every built page in headless Chromium, save PNGs

Notebooks are committed without outputs. Each one is executed in its own folder (so relative
paths such as ../results/ work as they do in Jupyter) into a staging copy of the book, which
Jupyter Book then renders with Sphinx warnings treated as errors.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import papermill

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
NOTEBOOKS = (
    "book/intro.ipynb",
    "book/setup.ipynb",
    "book/toyworld.ipynb",
    "notebooks/01_grid_masks.ipynb",
    "notebooks/02_esd_x_objective.ipynb",
    "notebooks/03_training.ipynb",
    "notebooks/04_evaluation.ipynb",
    "notebooks/05_ablations.ipynb",
    "notebooks/06_concept_masks.ipynb",
    "notebooks/07_really_gone.ipynb",
    "book/results.ipynb",
    "book/recipe_choice.ipynb",
    "book/benchmarks.ipynb",
)
# Small parameters for the test suite: every cell runs, on the toy model, in about a minute per chapter.
TEST_PARAMETERS = {
    "book/intro.ipynb": {"iterations": 2},
    "book/toyworld.ipynb": {"sample_steps": 2, "cases_per_style": 2},
    "notebooks/03_training.ipynb": {"iterations": 4},
    "notebooks/04_evaluation.ipynb": {"cases_per_style": 2, "sample_steps": 2, "comparison_seeds": [5000, 5001]},
    "notebooks/07_really_gone.ipynb": {"attack_steps": 3, "attack_pictures": 8, "sample_steps": 2, "cases_per_style": 2},
    "notebooks/05_ablations.ipynb": {"iterations": 2, "cases_per_style": 2, "sample_steps": 2},
    "notebooks/06_concept_masks.ipynb": {"iterations": 2, "cases_per_style": 2, "sample_steps": 2},
}


def execute(notebook: str, output: Path, parameters: dict | None = None) -> None:
    """Run one notebook top to bottom in its own folder; a failing cell raises papermill's error."""
    source = ROOT / notebook
    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(source),
        str(output),
        parameters=parameters or {},
        cwd=str(source.parent),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=900,  # a cell that hangs fails with papermill's timeout error instead of stalling the build
    )


def stage_and_execute(stage: Path, parameters: dict[str, dict] | None = None) -> None:
    """Copy the book's sources into `stage`, executing each notebook into it exactly once.

    Progress bars are switched off for these runs: in a static page a tqdm widget is an empty box (in
    Colab and Jupyter the same cells show them)."""
    os.environ["TQDM_DISABLE"] = "1"  # the kernels papermill starts inherit it
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, stage / name)
    shutil.copytree(ROOT / "_static", stage / "_static")  # the book's own CSS
    for page in (ROOT / "book").glob("*"):
        if page.suffix in (".md", ".bib"):
            shutil.copy(page, stage / "book" / page.name)
    started = time.time()
    for number, notebook in enumerate(NOTEBOOKS, 1):
        began = time.time()
        print(f"[{number}/{len(NOTEBOOKS)}] executing {notebook} ...", flush=True)
        execute(notebook, stage / notebook, (parameters or {}).get(notebook))
        print(
            f"[{number}/{len(NOTEBOOKS)}] {notebook}: {time.time() - began:.0f} s (all pages so far: {time.time() - started:.0f} s)",
            flush=True,
        )


def build() -> Path:
    """Execute everything (toy model, default parameters) and render HTML into _build/html."""
    began = time.time()
    stage = BUILD / "stage"
    stage_and_execute(stage)
    html = render_html(stage, BUILD / "html")
    print(f"book built in {time.time() - began:.0f}s: {html / 'index.html'}")
    return html


def render_html(stage: Path, html: Path) -> Path:
    """Render a staged, executed book with Jupyter Book (Sphinx warnings are errors) into `html`."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jupyter_book), "build", str(stage), "--path-output", str(stage), "-W", "--keep-going"], check=True)
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(stage / "_build" / "html", html)
    return html


def page_paths() -> list[str]:
    """The HTML page of every entry in the table of contents, index first."""
    return (
        ["index.html", "book/intro.html", "book/setup.html"]
        + [n.replace(".ipynb", ".html") for n in NOTEBOOKS]
        + ["book/glossary.html", "book/references.html"]
    )


# What a reader should never see on a built page, found by script in the rendered page (after MathJax has run):
# TeX left raw, output written to stderr, and anything wider than the text column (a code line or a table that
# needs a scrollbar, an image cut off).
LOOKS = r"""
const article = document.querySelector('article') || document.body;
const right = article.getBoundingClientRect().right;
const prose = Array.from(article.querySelectorAll('p, li, td, th, h1, h2, h3, dd, dt, summary'))
  .filter(e => !e.closest('pre, code, .cell_input, .highlight'));
const raw_tex = prose.filter(e => /\\\(|\\\)|\\\[|\$\$/.test(e.textContent.replace(/\s+/g, ' ')))
  .map(e => e.textContent.trim().slice(0, 80));
const stderr = Array.from(article.querySelectorAll('.output.stderr, .stderr')).map(e => e.textContent.trim().slice(0, 80));
const visible = e => !e.closest('details:not([open])') && e.getClientRects().length > 0;
const overflow = Array.from(article.querySelectorAll('pre, table, img, .cell_output, div.math'))
  .filter(visible)
  .filter(e => (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) || e.getBoundingClientRect().right > right + 1)
  .map(e => e.tagName.toLowerCase() + ': ' + e.textContent.trim().slice(0, 60));
return [raw_tex, stderr, overflow];
"""


def check_pages(
    html: Path,
    screenshots: Path | None = None,
    browser: str = "/usr/bin/chromium",
    driver: str = "/usr/bin/chromedriver",
    pages: list[str] | None = None,
) -> dict[str, dict]:
    """Open every page (or `pages`) in headless Chromium at 1280 px; report its title, images (all, broken), tables
    (rendered, left as raw Markdown pipes), whether it has a Colab button and the Colab setup cell, and what a reader
    should never see (`LOOKS`): raw TeX, stderr output, anything wider than the text column. Optionally screenshot it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2000",
    ):
        options.add_argument(flag)
    report = {}
    with webdriver.Chrome(service=Service(driver), options=options) as chrome:
        chrome.set_script_timeout(30)
        for page in pages or page_paths():
            path = html / page
            if not path.exists():
                report[page] = {"missing": True}
                continue
            chrome.get(path.as_uri())
            redirect = chrome.execute_script(  # index.html only forwards to the intro: check the page the reader lands on
                "const m = document.querySelector('meta[http-equiv=\"Refresh\"]'); return m ? m.content.split('url=')[1] : null;"
            )
            if redirect:
                chrome.get((path.parent / redirect).as_uri())
            chrome.execute_async_script(  # MathJax typesets after load: wait for it, where the page has it
                "const done = arguments[0];"
                "if (window.MathJax && MathJax.startup && MathJax.startup.promise) MathJax.startup.promise.then(done, done);"
                "else done();"
            )
            images = chrome.execute_script(
                "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);"
            )
            tables, raw_tables, colab_button, setup_cell = chrome.execute_script(
                "return [document.querySelectorAll('table').length,"
                " Array.from(document.querySelectorAll('p')).filter(p => p.textContent.trim().startsWith('| ')).length,"
                " !!document.querySelector('a[href*=\"colab.research.google.com\"]'),"
                " document.documentElement.textContent.includes('\"google.colab\" in sys.modules')];"
            )
            raw_tex, stderr, overflow = chrome.execute_script(LOOKS)
            report[page] = {
                "missing": False,
                "title": chrome.title,
                "images": len(images),
                "broken": [src for src, ok in images if not ok],
                "tables": tables,
                "raw_tables": raw_tables,
                "raw_tex": raw_tex,
                "stderr": stderr,
                "overflow": overflow,
                "colab_button": colab_button,
                "setup_cell": setup_cell,
            }
            if screenshots:
                screenshots.mkdir(parents=True, exist_ok=True)
                chrome.save_screenshot(str(screenshots / (page.replace("/", "_").removesuffix(".html") + ".png")))
    return report


def screenshots() -> dict[str, dict]:
    """Open every built page in headless Chromium, save a PNG of each under _build/screenshots, print the check."""
    report = check_pages(BUILD / "html", BUILD / "screenshots")
    print(json.dumps(report, indent=1), f"\nscreenshots in {BUILD / 'screenshots'}")
    return report
