import re
from pathlib import Path

SOURCES = [p for folder in ("gridlib", "benchmarks") for p in (Path(__file__).parent.parent / folder).rglob("*.py")]


def test_no_pickle_anywhere_in_the_library():
    pattern = re.compile(r"torch\.load\(|import pickle|from pickle|pickle\.load|torch\.save\(")
    offenders = [str(p) for p in SOURCES if pattern.search(p.read_text())]
    assert SOURCES and not offenders
