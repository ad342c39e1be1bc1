"""From results files to the book's tables and statistics: every number the book prints about a study.

`gridlib.experiments` writes the results files; this module reads them (old names included, see
`RENAMED`) and makes the tables: a study's settings side by side, which differences are beyond
seed noise, how many runs met the book's targets, and the erasure check's mean over seeds.
Markdown rendering lives here too, so a chapter imports its tables from one place.
"""

import json
import math
import statistics
from pathlib import Path

# Names results files written before 2026-12 use, and what they are called now.
RENAMED = {"seed": "grid3_center", "plain": "full"}
# Config fields added after some results files were written, at the values those files trained with.
WRITTEN_BEFORE = {"weighting": "masks", "sharpness": 1.0}
# What one toy erasure should reach: at most 10% of held-out Van Gogh images left, no other style more than 5 points lower.
MAX_ERASED_RATE, MAX_DROP_POINTS = 0.10, 5.0


def read_results(path: str | Path) -> dict | list[dict] | None:
    """A results file (.json, or .jsonl as a list of rows), or None with a message if it is missing."""
    path = Path(path)
    if not path.exists():
        print(f"{path} is missing: run the command that writes it (named on this page).")
        return None
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return _current_names(json.loads(text))


def _current_names(result: dict) -> dict:
    """A study's setting and mask-set names as this version calls them (`RENAMED`), and its configs with the
    fields added since it was written at the values it trained with (`WRITTEN_BEFORE`); other files unchanged."""
    for entry in result.get("results", []):
        entry["setting"] = RENAMED.get(entry["setting"], entry["setting"])
        if entry.get("same_training_as"):
            entry["same_training_as"] = RENAMED.get(entry["same_training_as"], entry["same_training_as"])
    configs = [entry["config"] for entry in result.get("results", [])] + [result.get("config"), result.get("study", {}).get("base")]
    for config in filter(None, configs):
        config["masks"] = RENAMED.get(config["masks"], config["masks"])
        for name, value in WRITTEN_BEFORE.items():
            config.setdefault(name, value)
    if "study" in result:
        result["study"]["settings"] = [RENAMED.get(name, name) for name in result["study"]["settings"]]
    return result


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


def summary(values: list[float]) -> dict:
    """Mean and sample standard deviation over seeds (0 for one seed)."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def study_label(result: dict) -> str:
    """Where a study's runs got their x_t, in words: a results file's base config, as the book labels it."""
    base = result["study"]["base"]
    if base["xt_source"] == "noise":
        return "x_t from noise (the toy recipe)"
    return f"x_t sampled in {base['ddim_steps']} DDIM steps (ESD's route)"


def style_changes(result: dict, run: dict) -> dict[str, float]:
    """Each other style's change in one run against the original model, in points (negative: a drop)."""
    return {style: 100 * (run["rates"][style] - before) for style, before in result["baseline"].items() if style != result["target"]}


def largest_drop(result: dict, entry: dict) -> tuple[str, float, float]:
    """The other style that lost most on average against the original model, its mean change over seeds,
    and the worst change of any other style in any seed; in points (negative: a drop)."""
    changes = [style_changes(result, run) for run in entry["runs"]]
    means = {style: statistics.fmean(change[style] for change in changes) for style in changes[0]}
    style = min(means, key=means.get)
    return style, means[style], min(min(change.values()) for change in changes)


def meets_targets(result: dict, run: dict) -> bool:
    """Whether one run reached the book's targets for a toy erasure (`MAX_ERASED_RATE`, `MAX_DROP_POINTS`)."""
    worst = min(round(change, 6) for change in style_changes(result, run).values())
    return run["rates"][result["target"]] <= MAX_ERASED_RATE and worst >= -MAX_DROP_POINTS


def results_table(result: dict, full: bool = False) -> list[dict]:
    """One row per setting: Van Gogh left and other styles kept (mean +/- std over seeds), the largest drop,
    the runs meeting the targets and the cost. `full` adds the configuration, final loss and time."""
    rows = []
    for entry in result["results"]:
        runs = entry["runs"]
        style, mean_drop, worst_drop = largest_drop(result, entry)
        repeated = entry.get("same_training_as")
        row = {
            "setting": entry["setting"] + (f" (= {repeated})" if repeated else ""),
            "Van Gogh left (%)": f"{100 * entry['erasure']['mean']:.1f} ± {100 * entry['erasure']['std']:.1f}",
            "other styles kept (%)": f"{100 * entry['preservation']['mean']:.1f} ± {100 * entry['preservation']['std']:.1f}",
            "largest drop (points)": f"{style} {mean_drop:+.1f}",
            "runs meeting the targets": f"{sum(meets_targets(result, run) for run in runs)} of {len(runs)}",
            "UNet fwd / bwd per run": "{:.0f} / {:.0f}".format(
                *(statistics.fmean(r["unet_passes"][k] for r in runs) for k in ("forward", "backward"))
            ),
        }
        if full:
            row["setting"] = entry["setting"] + (f" (= {repeated}: same weight map, trained once)" if repeated else "")
            row["largest drop (points)"] += f" (worst single run of any style {worst_drop:+.1f})"
            row = {
                **row,
                "masks": entry["config"]["masks"],
                "x_t": entry["config"]["xt_source"],
                "iterations": entry["config"]["iterations"],
                "seeds": len(runs),
                "final loss (mean of last 10)": f"{statistics.fmean(r['final_loss'] for r in runs):.4f}",
                "train s": f"{statistics.fmean(r['train_s'] for r in runs):.0f}",
            }
        rows.append(row)
    return rows


def folded(markdown: str, summary: str) -> str:
    """Markdown that a reader unfolds: an HTML <details> block, which Jupyter, Colab and the built book all render."""
    return f"<details>\n<summary>{summary}</summary>\n\n{markdown}\n\n</details>"


def study_tables(result: dict) -> str:
    """A study as the book shows it: the headline table, then the full one folded away."""
    return markdown_table(results_table(result)) + "\n\n" + folded(markdown_table(results_table(result, full=True)), "Full table")


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a rate (95% by default): honest at 0 or n successes, where the normal one collapses."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes} of {trials}")
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def compare_settings(result: dict, first: str, second: str, metric: str = "erasure") -> dict:
    """How `second` differs from `first` on a metric, and whether seeds' spread can explain it.

    The difference of the mean rates (in points) is called resolved when it exceeds twice its
    standard error, sqrt(s1^2/n1 + s2^2/n2); otherwise the study cannot tell the two settings apart.
    """
    entries = {entry["setting"]: entry for entry in result["results"]}
    for name in (first, second):
        if name not in entries:
            raise ValueError(f"setting {name!r} is not in this result; it has {tuple(entries)}")
    runs = [[run[metric] for run in entries[name]["runs"]] for name in (first, second)]
    difference = 100 * (statistics.fmean(runs[1]) - statistics.fmean(runs[0]))
    error = 100 * math.sqrt(sum((statistics.variance(r) if len(r) > 1 else 0.0) / len(r) for r in runs))
    return {
        "metric": metric,
        "difference_points": round(difference, 1),
        "standard_error_points": round(error, 1),
        "resolved": abs(difference) > 2 * error,
    }


def key_comparisons(result: dict) -> list[dict]:
    """The study's questions as rows: each grid against plain ESD-X, each noise route against sampling."""
    present = {entry["setting"] for entry in result["results"]}
    pairs = [("full", grid) for grid in ("grid3_center", "grid4", "grid5", "multiscale")]
    pairs += [("grid3_center", noise) for noise in ("noise_equal_iterations", "noise_equal_passes")]
    trained_as = {entry["setting"]: entry.get("same_training_as") or entry["setting"] for entry in result["results"]}
    rows = []
    for first, second in pairs:
        if {first, second} <= present:
            for metric in ("erasure", "preservation"):
                comparison = compare_settings(result, first, second, metric)
                verdict = "yes" if comparison["resolved"] else "no"
                if trained_as[first] == trained_as[second]:
                    verdict = "same training"
                rows.append(
                    {
                        "setting": second,
                        "against": first,
                        "metric": metric,
                        "change (points)": f"{comparison['difference_points']:+.1f} ± {comparison['standard_error_points']:.1f}",
                        "beyond seed noise (> 2 s.e.)": verdict,
                    }
                )
    return rows


def comparisons_with(result: dict, first: str) -> list[dict]:
    """Every other setting of a study against `first`, on both metrics, read as `key_comparisons` reads its pairs."""
    rows = []
    for entry in result["results"]:
        if entry["setting"] == first:
            continue
        for metric in ("erasure", "preservation"):
            comparison = compare_settings(result, first, entry["setting"], metric)
            rows.append(
                {
                    "setting": entry["setting"],
                    "against": first,
                    "metric": "Van Gogh left" if metric == "erasure" else "other styles kept",
                    "change (points)": f"{comparison['difference_points']:+.1f} ± {comparison['standard_error_points']:.1f}",
                    "beyond seed noise (> 2 s.e.)": "yes" if comparison["resolved"] else "no",
                }
            )
    return rows


def mean_over_seeds(tables: list[list[dict]]) -> list[dict]:
    """One `erasure_table` from several seeds' tables: mean `after` and `change_points`, and the worst seed's change."""
    table = []
    for rows in zip(*tables, strict=True):
        changes = [row["change_points"] for row in rows]
        table.append(
            {
                **rows[0],
                "after": statistics.fmean(row["after"] for row in rows),
                "change_points": round(statistics.fmean(changes), 1),
                "worst_change_points": max(changes) if rows[0]["role"] == "erased" else min(changes),
            }
        )
    return table


def erasure_check_table(check: dict) -> list[dict]:
    """The erasure check's before/after table as the book shows it: each split and style's rate before, its mean
    after over the seeds, the mean change and the worst seed's change, in points."""
    return [
        {
            "prompts": row["split"],
            "style": row["style"],
            "before": f"{100 * row['before']:.1f}%",
            "after (mean)": f"{100 * row['after']:.1f}%",
            "change (points)": f"{row['change_points']:+.1f}",
            "worst run (points)": f"{row['worst_change_points']:+.1f}",
        }
        for row in check["table"]
    ]


def studies_summary(studies: list[dict]) -> list[dict]:
    """One row per study: where its x_t came from, its size, and which comparisons differ beyond seed noise."""
    rows = []
    for study in studies:
        comparisons = key_comparisons(study)
        resolved = [
            f"{row['setting']} vs {row['against']} ({row['metric']})" for row in comparisons if row["beyond seed noise (> 2 s.e.)"] == "yes"
        ]
        rows.append(
            {
                "study": study_label(study),
                "settings x seeds": f"{len(study['results'])} x {len(study['study']['seeds'])}",
                "differences beyond seed noise": ", ".join(resolved) or "none",
            }
        )
    return rows


def _rate_with_interval(rate: float, samples: int) -> str:
    low, high = wilson_interval(round(rate * samples), samples)
    return f"{100 * rate:.1f}% ({100 * low:.0f}–{100 * high:.0f})"


def evaluation_table(rows: list[dict], samples: int) -> list[dict]:
    """`compare_models` rows as the book shows them: each rate with its Wilson 95% interval over `samples` images."""
    return [
        {
            "prompts": row["split"],
            "style": row["style"],
            "before (95% interval)": _rate_with_interval(row["before"], samples),
            "after (95% interval)": _rate_with_interval(row["after"], samples),
            "change (points)": f"{row['change_points']:+.1f}",
        }
        for row in rows
    ]
