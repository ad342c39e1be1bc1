"""The page check sees what a reader would: raw TeX, stderr output, and anything wider than the text column."""

from pathlib import Path

import pytest

from gridlib.book import check_pages

CHROMIUM = Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()
GOOD = "<p>Prose with a number in it.</p><pre>short code</pre>"
BAD = {
    "raw_tex": r"<p>The target is \(x_t\) at every step.</p>",
    "stderr": '<div class="output stderr"><pre>LPIPS skipped: No module named lpips</pre></div>',
    "overflow": "<pre>" + "x = 1  # " + "a comment that runs on " * 20 + "</pre>",
}


def _page(folder: Path, name: str, body: str) -> str:
    page = f"<html><head><title>{name}</title></head><body><article style='width: 600px'>{body}</article></body></html>"
    (folder / name).write_text(page)
    return name


@pytest.mark.skipif(not CHROMIUM, reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
def test_the_page_check_fails_on_raw_tex_stderr_and_overflow_and_passes_a_clean_page(tmp_path):
    pages = [_page(tmp_path, "good.html", GOOD)] + [_page(tmp_path, f"{kind}.html", body) for kind, body in BAD.items()]
    report = check_pages(tmp_path, pages=pages)
    assert not any(report["good.html"][kind] for kind in BAD)
    for kind in BAD:
        found = {other: bool(report[f"{kind}.html"][other]) for other in BAD}
        assert found == {other: other == kind for other in BAD}, (kind, report[f"{kind}.html"])
