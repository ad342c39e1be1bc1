"""No measured number is typed into the book's prose: numbers come from results files, glued when a page runs.

The scan strips what is not prose (code, maths, glued values, links, HTML tags) and flags every percentage
and decimal left. Definitions and settings the prose may name are in ALLOWED; everything else is a typed
number, and a typed number drifts from the file it came from.
"""

import json
import re
import statistics
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


def _pages(cell_types: tuple[str, ...] = ("markdown",)) -> dict[str, str]:
    """Every book page's text: a Markdown page whole, a notebook's cells of `cell_types`."""
    pages = {str(path.relative_to(ROOT)): path.read_text() for path in (ROOT / "book").glob("*.md")}
    for path in [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "book").glob("*.ipynb")]:
        cells = json.loads(path.read_text())["cells"]
        pages[str(path.relative_to(ROOT))] = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] in cell_types)
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


HISTORY = re.compile(
    r"toy_v\d|\b(?:first|second|earlier) toy model|\bmodel [1-9]\b"
    r"|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b",  # a commit hash: hex digits, some letters, some numbers
    re.I,
)


def history_mentions(text: str) -> list[str]:
    """Words that tell the toy model's history (earlier models, commit hashes): git keeps that, the book does not."""
    return [m.group(0) for m in HISTORY.finditer(text)]


def test_the_history_scan_flags_earlier_models_and_commits_and_spares_plain_words():
    text = "trained on toy_v2, unlike the second toy model (model 3, commit ff20de8)"
    assert history_mentions(text) == ["toy_v2", "second toy model", "model 3", "ff20de8"]
    assert history_mentions("the toy model's 80 tensors, seed 1234567, a decade of effaced art") == []


def test_no_page_tells_the_toy_models_history():
    """Every cell, code included (a file name is history too), of every page and the README."""
    sources = {"README.md": (ROOT / "README.md").read_text(), **_pages(("markdown", "code"))}
    found = {page: words for page, text in sources.items() if (words := history_mentions(text))}
    assert not found, f"pages that tell the toy model's history: {found}"


BULLET = re.compile(r"\s*(?:[-*]|\d+\.)\s+")
NOT_SENTENCES = ("#", "|", ":::", "<", ">")  # headings, table rows, directives, HTML; quoted boxes are read without their marker


def sentences(markdown: str) -> list[str]:
    """The sentences of `markdown`'s prose: code, maths and tables left out, each list item read on its own,
    a glued value or inline code counted as one word."""
    for pattern in (r"```.*?```", r"\$\$.*?\$\$", r"<details>.*?</summary>"):
        markdown = re.sub(pattern, " ", markdown, flags=re.S)
    markdown = re.sub(r"\{glue:[a-z]+\}`[^`]*`|`[^`]*`|\$[^$]*\$", "X", markdown)
    markdown = re.sub(r"\]\([^)]*\)", "]", markdown)
    units: list[str] = []
    for line in markdown.splitlines():
        line = line.strip().removeprefix("> ")
        if not line or line.startswith(NOT_SENTENCES):
            units.append("")
        elif BULLET.match(line) or not units:
            units.append(BULLET.sub("", line, count=1))
        else:
            units[-1] += " " + line
    return [s for unit in units for s in re.split(r"(?<=[.!?])\s+(?=[A-Z*(\"'X\[])", unit) if len(s.split()) >= 3]


def test_the_sentence_count_reads_list_items_and_sentences_apart_and_skips_code_and_tables():
    text = "One two three. Four five six!\n\n- seven eight nine\n- ten eleven `a b c` twelve\n\n| a | b c d |\n\n```\nx y z w\n```"
    assert [len(s.split()) for s in sentences(text)] == [3, 3, 3, 4]


def test_sentences_stay_short():
    """Median sentence at most 25 words on every page, and none over 45: answers a reader can hold in mind."""
    long = {}
    for page, text in _pages().items():
        lengths = [len(s.split()) for s in sentences(text)]
        if lengths and (statistics.median(lengths) > 25 or max(lengths) > 45):
            long[page] = (statistics.median(lengths), [s[:80] for s in sentences(text) if len(s.split()) > 45])
    assert not long, f"pages whose sentences run long (median words, sentences over 45 words): {long}"


TUTORIAL_SHAPE = [
    "**What you will learn.**",
    "**The question.**",
    "**The idea.**",
    "## The answer",
    "**Try it yourself.**",
    "## Exercises",
    "## Summary",
]


def test_every_chapter_has_the_tutorial_shape_and_answers_in_three_sentences():
    """What you will learn, the question, the idea, the answer, try it, exercises, summary, in that order; and every
    page's "The answer" section says it in at most three sentences."""
    for page, text in _pages().items():
        if page.startswith("notebooks/"):
            where = [text.find(marker) for marker in TUTORIAL_SHAPE]
            assert -1 not in where and where == sorted(where), (page, dict(zip(TUTORIAL_SHAPE, where, strict=True)))
        if "## The answer\n" in text:
            answer = re.split(r"\n[#>]", text.split("## The answer\n", 1)[1])[0]  # up to the next heading or box
            assert len(sentences(answer)) <= 3, (page, sentences(answer))
