"""The erasure check and the fidelity study as the book's tables: every case judged, before and after, with intervals.

The erasure check (`python -m gridlib check`) judges every evaluation case on the original model and
on each training seed's erasure; `gridlib.measure.compare` gives one row per split and style. These
tables pool the runs, give each rate its interval, and count the targets each run met.
"""

import statistics
from collections import Counter
from collections.abc import Iterator

from .fidelity import counts_by_setting
from .measure import content_counts, pooled_counts
from .tables import percent_over_runs, percent_with_interval, points, style_name


def _by_group(runs: list[list[dict]]) -> Iterator[tuple[tuple[str, str], list[dict]]]:
    """Each (split, style) of several runs' `measure.compare` rows, in the first run's order, with every run's row for it."""
    for key in dict.fromkeys((row["split"], row["style"]) for row in runs[0]):
        yield key, [next(row for row in run if (row["split"], row["style"]) == key) for run in runs]


def before_after_table(runs: list[list[dict]], detail: bool = False) -> list[dict]:
    """`measure.compare` rows as the book shows them, one row per prompt split and style: the style rate before
    and after (several runs pooled, with the run-level interval too: `tables.percent_over_runs`), the change in
    content accuracy (shape and colour checks together, pooled, in points), and how far same-seed images moved
    (1.0 = another seed's distance). `detail` adds the shape and colour accuracies and the worst run."""
    table = []
    for (split, style), rows in _by_group(runs):
        after = {m: pooled_counts(rows, f"{m}_after") for m in ("style", "shape", "colour")}
        before = {m: tuple(rows[0][f"{m}_before"]) for m in ("style", "shape", "colour")}
        content_after = (after["shape"][0] + after["colour"][0], after["shape"][1] + after["colour"][1])
        content_before = (before["shape"][0] + before["colour"][0], before["shape"][1] + before["colour"][1])
        moved = [r["moved"] for r in rows if r["moved"] is not None]
        row = {
            "prompts · style": f"{split} · {style}",
            "style before": percent_with_interval(before["style"]),
            "style after": percent_over_runs([tuple(r["style_after"]) for r in rows]),
            "content (points)": points(content_after, content_before),
            "moved": f"{statistics.fmean(moved):.2f}" if moved else "–",
        }
        if detail:
            for measure in ("shape", "colour"):
                row[f"{measure} before"] = percent_with_interval(before[measure])
                row[f"{measure} after"] = percent_with_interval(after[measure])
            if len(runs) > 1:
                worst = (max if rows[0]["role"] == "erased" else min)(r["style_after"][0] / r["style_after"][1] for r in rows)
                row["worst run"] = f"{100 * worst:.1f}%"
        table.append(row)
    return table


def erasure_check_table(check: dict, detail: bool = False) -> list[dict]:
    """The erasure check's `before_after_table`, its runs (one per training seed) pooled."""
    return before_after_table([run["rows"] for run in check["runs"]], detail)


def targets_table(check: dict) -> list[dict]:
    """Per run of the erasure check: how many of the targets it meets, how many surely (the whole
    95% interval on the right side), and which kinds of target it misses, with the worst miss."""
    rows = []
    for run in check["runs"]:
        missed = [t for t in run["targets"] if not t["met"]]
        kinds = Counter(t["target"].split(": ", 1)[1] for t in missed)
        worst = min(missed, key=lambda t: t["measured"], default=None)
        rows.append(
            {
                "seed": run["seed"],
                "targets met": f"{len(run['targets']) - len(missed)} of {len(run['targets'])}",
                "met surely": f"{sum(t['sure'] for t in run['targets'])} of {len(run['targets'])}",
                "missed": ", ".join(f"{kind} ×{count}" for kind, count in kinds.items()) or "none",
                "worst miss": f"{worst['target'].split(':')[0]} {100 * worst['measured']:+.1f}" if worst else "–",
            }
        )
    return rows


def _largest(drops: list[tuple[float, str]]) -> str:
    """The largest drop as "-3.2 (where)"; "none" where nothing dropped, "–" where nothing was measured (content on SD1.4)."""
    if not drops:
        return "–"
    change, where = min(drops)
    return f"{change:+.1f} ({where})" if change < 0 else "none"


def recipe_comparison(checks: dict[str, dict], splits: tuple[str, ...] = ("train", "heldout")) -> list[dict]:
    """One row per erasure check (one per recipe, say): the targets each run met, the target style left on held-out
    prompts (runs pooled: `tables.percent_over_runs`), and the largest pooled drop of another style and of any style's
    shape or colour accuracy on `splits` (points)."""
    table = []
    for name, check in checks.items():
        runs = [run["rows"] for run in check["runs"]]
        style_drops, content_drops = [], []
        for key, rows in _by_group(runs):
            if key[0] not in splits:
                continue
            measures = ("shape", "colour") if rows[0]["role"] == "erased" else ("style", "shape", "colour")
            for measure in measures:
                after, before = pooled_counts(rows, f"{measure}_after"), tuple(rows[0][f"{measure}_before"])
                if before[1]:
                    drop = (100 * (after[0] / after[1] - before[0] / before[1]), f"{key[0]} / {style_name(key[1])} {measure}")
                    (content_drops if measure != "style" else style_drops).append(drop)
        erased = [next(r for r in run if r["split"] == "heldout" and r["role"] == "erased") for run in runs]
        table.append(
            {
                "recipe": name,
                "targets met, run by run": ", ".join(str(sum(t["met"] for t in run["targets"])) for run in check["runs"])
                + f" of {len(check['runs'][0]['targets'])}",
                "Van Gogh left, held-out": percent_over_runs([tuple(row["style_after"]) for row in erased]),
                "other styles, largest drop": _largest(style_drops),
                "content, largest drop": _largest(content_drops),
            }
        )
    return table


def phrasing_table(check: dict, style: str) -> list[dict]:
    """How often each phrasing of `style` draws that style, before erasing and after (seeds pooled)."""

    def key(row):
        return row["split"], row["phrasing"]

    before = {key(r): r for r in check["original_by_phrasing"] if r["style"] == style}
    after: dict[tuple, list] = {}
    for run in check["runs"]:
        for row in run["by_phrasing"]:
            if row["style"] == style:
                after.setdefault(key(row), []).append(row)
    return [
        {
            "prompts": split,
            "phrasing": phrasing,
            "before": percent_with_interval(before[(split, phrasing)]["style_match"]),
            "after": percent_with_interval(pooled_counts(after[(split, phrasing)], "style_match")),
        }
        for split, phrasing in after
    ]


def object_table(check: dict, style: str, split: str = "heldout") -> list[dict]:
    """For each object asked for in `style`'s `split` prompts: how often the style is drawn after erasing and how
    often the object is kept (shape and colour checks pooled), before and after (seeds pooled), sorted by the content lost."""
    before = {r["object"]: r for r in check["original_by_object"] if r["style"] == style and r["split"] == split and r["object"]}
    after: dict[str, list] = {}
    for run in check["runs"]:
        for row in run["by_object"]:
            if row["style"] == style and row["split"] == split and row["object"]:
                after.setdefault(row["object"], []).append(row)

    table = []
    for name, rows in after.items():
        counts = [content_counts(row) for row in rows]  # one per run
        was, now = content_counts(before[name]), (sum(hits for hits, _ in counts), sum(trials for _, trials in counts))
        row = {
            "object": name,
            "style after": percent_with_interval(pooled_counts(rows, "style_match")),
            "content before": percent_with_interval(was),
            "content after": percent_with_interval(now),
            "content change (points)": points(now, was),
        }
        table.append((now[0] / now[1] - was[0] / was[1], row))
    return [row for _, row in sorted(table, key=lambda pair: pair[0])]


def fidelity_table(result: dict, measure: str = "style") -> list[dict]:
    """`gridlib.fidelity`'s results as the book shows them: one row per sampler setting (DDIM steps, guidance), one column
    per style, each the share of images whose `measure` (style, or content: shape and colour together) matched the prompt."""
    return [
        {"sampler": f"{steps} steps, guidance {guidance:g}", **{style: percent_with_interval(counts) for style, counts in by_style.items()}}
        for (steps, guidance), by_style in counts_by_setting(result["rows"], measure).items()
    ]
