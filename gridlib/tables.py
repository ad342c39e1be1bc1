"""Formatting measured numbers for the page: Markdown tables, folded detail, rates with their intervals.

Every table module (`study_tables`, `check_tables`, `attack_tables`, `claims`) formats through these,
so a rate reads the same everywhere: "97.2% (92–99)" is 97.2% with its Wilson 95% interval over
images, and a rate pooled over several training runs adds the interval with the run as the unit.
"""

from .stats import run_interval, wilson_interval
from .toyworld.prompts import ARTISTS


def style_name(style: str) -> str:
    """A style as a sentence names it: the toy world's keys by their painter ("van_gogh" is "Van Gogh");
    SD1.4's styles are names already."""
    return ARTISTS[style][0] if style in ARTISTS else style


def markdown_table(rows: list[dict], percent: tuple[str, ...] = ()) -> str:
    """A list of dicts as a Markdown table; the `percent` columns hold rates in [0, 1], shown as percentages."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{100 * row[c]:.1f}%" if c in percent else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def folded(markdown: str, summary: str) -> str:
    """Markdown that a reader unfolds: an HTML <details> block, which Jupyter, Colab and the built book all render."""
    return f"<details>\n<summary>{summary}</summary>\n\n{markdown}\n\n</details>"


def percent_with_interval(counts: tuple[int, int] | list[int]) -> str:
    """(successes, trials) as "97.2% (92–99)": the rate and its Wilson 95% interval, in percent; "–" for no trials."""
    hits, trials = counts
    if not trials:
        return "–"
    low, high = wilson_interval(hits, trials)
    return f"{100 * hits / trials:.1f}% ({100 * low:.0f}–{100 * high:.0f})"


def points(after: tuple[int, int], before: tuple[int, int]) -> str:
    """The change from `before` to `after`, each (successes, trials), in signed points; "–" where either has no trials."""
    if not after[1] or not before[1]:
        return "–"
    return f"{100 * (after[0] / after[1] - before[0] / before[1]):+.1f}"


def change_over_runs(comparison: dict) -> str:
    """A `stats.compare_runs` result as "+13.9 ± 9.0": how the mean over runs changed, and its standard error, in points."""
    return f"{comparison['difference_points']:+.1f} ± {comparison['standard_error_points']:.1f}"


def percent_over_runs(counts: list[tuple[int, int]]) -> str:
    """Several training runs' (successes, trials) pooled, as "34.7% (29–41; runs 17–53)": the pooled rate, its
    Wilson interval as if every image were independent, and the t-interval over runs (each run one observation),
    which is the honest one when runs differ; one run gives the pooled form alone."""
    hits, trials = sum(k for k, _ in counts), sum(n for _, n in counts)
    pooled = percent_with_interval((hits, trials))
    if len(counts) < 2 or not trials:
        return pooled
    low, high = run_interval([k / n for k, n in counts if n])
    return pooled.removesuffix(")") + f"; runs {100 * low:.0f}–{100 * high:.0f})"


def record_table(record: dict, prefix: str = "") -> list[dict]:
    """A JSON record (a training log, say) as two-column rows, nested keys joined by dots: readable, never cut off."""
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += record_table(value, f"{name}.")
        else:
            rows.append({"field": name, "value": f"{value:.4g}" if isinstance(value, float) else str(value)})
    return rows
