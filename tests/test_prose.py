"""No measured number is typed into the book's prose: numbers come from results files, glued when a page runs.

The scan strips what is not prose (code, maths, glued values, links, HTML tags) and flags every percentage
and decimal left. Definitions and settings the prose may name are in ALLOWED; everything else is a typed
number, and a typed number drifts from the file it came from.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PROSE = [r"\{glue:[a-z]+\}`[^`]*`", r"```.*?```", r"`[^`]*`", r"\$\$.*?\$\$", r"\$[^$]*\$", r"\]\([^)]*\)", r"<[^>]+>"]
NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?\s?%|\d+\.\d+)(?![\w.])")
# "95% interval", the 10% target, SD1.4, the negative guidance values 2.0 and 3.0 (the report's, in two conventions),
# guidance settings, 1.0 (the unit of `moved`), and version numbers
ALLOWED = {"95%", "10%", "1.4", "2.0", "3.0", "1.0", "2.5", "7.5", "7.7", "77%"}  # 7.7: ipywidgets; 77%: the report's claim


def typed_numbers(markdown: str) -> list[str]:
    """The percentages and decimals a reader would see in `markdown`'s prose, less the allowed definitions."""
    for pattern in NOT_PROSE:
        markdown = re.sub(pattern, " ", markdown, flags=re.S)
    return [n for n in (m.group(1).replace(" ", "") for m in NUMBER.finditer(markdown)) if n not in ALLOWED]


def _pages() -> dict[str, str]:
    pages = {str(path.relative_to(ROOT)): path.read_text() for path in (ROOT / "book").glob("*.md")}
    for path in [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "book").glob("*.ipynb")]:
        cells = json.loads(path.read_text())["cells"]
        pages[str(path.relative_to(ROOT))] = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return pages


def test_the_scan_flags_a_typed_rate_and_spares_glue_code_maths_and_definitions():
    assert typed_numbers("the attack recovered 34.7% (29–41%) of 72 images, a 0.25 drop") == ["34.7%", "41%", "0.25"]
    assert typed_numbers("the attack recovered {glue:text}`recovered` of images with `lr=0.5` and $\\eta = 0.5$") == []
    assert typed_numbers("a 95% interval, at most 10% left, on SD1.4 at guidance 7.5 ([link](a/b1.5.html))") == []


def test_no_page_types_a_measured_number():
    typed = {page: numbers for page, text in _pages().items() if (numbers := typed_numbers(text))}
    assert not typed, f"typed numbers in prose (glue them from a results file): {typed}"


def test_every_page_stays_short_enough_to_read():
    """A chapter or appendix page holds at most 8,000 characters of Markdown; the README at most 6,000."""
    long = {page: len(text) for page, text in _pages().items() if page.endswith(".ipynb") and len(text) > 8000}
    assert not long and len((ROOT / "README.md").read_text()) <= 6000, long
