"""A study's results file as the book's tables: settings side by side, their differences, and the runs meeting the targets.

A study (`python -m gridlib study`) trains every setting with several seeds and measures each run on
held-out prompts. These tables read its file: mean and spread over runs, which differences between
settings are beyond run-to-run noise (`stats.compare_runs`), and how many runs met the book's targets.
"""

import statistics

from .measure import meets_targets
from .stats import compare_runs
from .tables import change_over_runs, folded, markdown_table

METRICS = {"target_left": "Van Gogh left", "preservation": "other styles kept"}  # a comparison's metrics, as tables name them


def study_label(result: dict) -> str:
    """Where a study's runs got their x_t, in words: a results file's base config, as the book labels it."""
    base = result["study"]["base"]
    if base["xt_source"] == "noise":
        return "x_t from noise (the toy recipe)"
    return f"x_t sampled in {base['ddim_steps']} DDIM steps (ESD's route)"


def style_changes(result: dict, run: dict) -> dict[str, float]:
    """Each other style's change in one run against the original model, in points (negative: a drop)."""
    return {style: 100 * (run["rates"][style] - before) for style, before in result["baseline"].items() if style != result["target"]}


def content_changes(result: dict, run: dict) -> dict[str, float]:
    """Each style's change in content accuracy (requested shape and colour) in one run, in points; {} where
    the study's judge sees no content (SD's CLIP judge, or a results file measured before content was)."""
    return {style: 100 * (run["content"][style] - before) for style, before in result.get("baseline_content", {}).items()}


def largest_drop(result: dict, entry: dict, changes_of=style_changes) -> tuple[str, float, float]:
    """The style that lost most on average against the original model (by `changes_of`: other styles' rates,
    or `content_changes`), its mean change over seeds, and the worst change of any style in any seed; in points."""
    changes = [changes_of(result, run) for run in entry["runs"]]
    means = {style: statistics.fmean(change[style] for change in changes) for style in changes[0]}
    style = min(means, key=means.get)
    return style, means[style], min(min(change.values()) for change in changes)


def results_table(result: dict, detail: bool = False) -> list[dict]:
    """One row per setting, in five columns: Van Gogh left and other styles kept (mean +/- std over seeds), the largest
    mean drop of another style and of any style's content, and the runs meeting the targets. `detail` adds the worst
    single run, the configuration, the UNet passes, the final loss and the time."""
    rows = []
    for entry in result["results"]:
        runs = entry["runs"]
        style, mean_drop, worst_drop = largest_drop(result, entry)
        repeated = entry.get("same_training_as")
        drops = f"{style} {mean_drop:+.1f}"
        if result.get("baseline_content"):  # the requested shape and colour: the study's judge sees content
            content_style, content_drop, _ = largest_drop(result, entry, content_changes)
            drops += f"; content: {content_style} {content_drop:+.1f}"
        row = {
            "setting": entry["setting"] + (f" (= {repeated})" if repeated else ""),
            "Van Gogh left (%)": f"{100 * entry['target_left']['mean']:.1f} ± {100 * entry['target_left']['std']:.1f}",
            "other styles kept (%)": f"{100 * entry['preservation']['mean']:.1f} ± {100 * entry['preservation']['std']:.1f}",
            "largest drop (points)": drops,
            "runs meeting the targets": f"{sum(run_meets_targets(result, run) for run in runs)} of {len(runs)}",
        }
        if detail:
            passes = (statistics.fmean(r["unet_passes"][kind] for r in runs) for kind in ("forward", "backward"))
            row["setting"] = entry["setting"] + (f" (= {repeated}: same weight map, trained once)" if repeated else "")
            row = {
                **row,
                "worst single run of another style (points)": f"{worst_drop:+.1f}",
                "masks": entry["config"]["masks"],
                "x_t": entry["config"]["xt_source"],
                "iterations": entry["config"]["iterations"],
                "seeds": len(runs),
                "UNet fwd / bwd per run": "{:.0f} / {:.0f}".format(*passes),
                "final loss (mean of last 10)": f"{statistics.fmean(r['final_loss'] for r in runs):.4f}",
                "train s": f"{statistics.fmean(r['train_s'] for r in runs):.0f}",
            }
        rows.append(row)
    return rows


def only_settings(result: dict, settings: tuple[str, ...]) -> dict:
    """A study's results file narrowed to some of its settings, in its own order (one study can serve two chapters)."""
    missing = set(settings) - {entry["setting"] for entry in result["results"]}
    if missing:
        raise ValueError(f"the study has no settings {sorted(missing)}; it has {[entry['setting'] for entry in result['results']]}")
    return {**result, "results": [entry for entry in result["results"] if entry["setting"] in settings]}


def study_tables(result: dict) -> str:
    """A study as the book shows it: the headline table, then every column folded away."""
    return markdown_table(results_table(result)) + "\n\n" + folded(markdown_table(results_table(result, detail=True)), "All columns")


def run_meets_targets(result: dict, run: dict) -> bool:
    """Whether one run of a study met the book's targets (`measure.meets_targets`) against the study's original model."""
    content = run.get("content", {})
    return meets_targets(run["rates"], result["baseline"], content, result.get("baseline_content", {}), result["target"])


def compare_settings(result: dict, first: str, second: str, metric: str = "target_left") -> dict:
    """How `second` differs from `first` on a metric ("target_left" or "preservation"), over their runs (`stats.compare_runs`)."""
    entries = {entry["setting"]: entry for entry in result["results"]}
    for name in (first, second):
        if name not in entries:
            raise ValueError(f"setting {name!r} is not in this result; it has {tuple(entries)}")
    return {"metric": metric, **compare_runs(*([run[metric] for run in entries[name]["runs"]] for name in (first, second)))}


def _comparison_row(result: dict, first: str, second: str, metric: str, label: str, same_training: bool = False) -> dict:
    """One comparison of two settings on one metric, as a table row: the change over runs and whether it is beyond noise."""
    comparison = compare_settings(result, first, second, metric)
    verdict = "yes" if comparison["resolved"] else "no"
    return {
        "setting": second,
        "against": first,
        "metric": label,
        "change (points)": change_over_runs(comparison),
        "beyond seed noise (> 2 s.e.)": "same training" if same_training else verdict,
    }


def key_comparisons(result: dict) -> list[dict]:
    """The study's questions as rows: each grid against plain ESD-X, each noise route against sampling."""
    present = {entry["setting"] for entry in result["results"]}
    pairs = [("none", grid) for grid in ("grid3_center", "grid4", "grid5", "multiscale")]
    pairs += [("grid3_center", noise) for noise in ("noise_equal_iterations", "noise_equal_passes")]
    trained_as = {entry["setting"]: entry.get("same_training_as") or entry["setting"] for entry in result["results"]}
    return [
        _comparison_row(result, first, second, metric, label, same_training=trained_as[first] == trained_as[second])
        for first, second in pairs
        if {first, second} <= present
        for metric, label in METRICS.items()
    ]


def comparisons_with(result: dict, first: str) -> list[dict]:
    """Every other setting of a study against `first`, on both metrics, read as `key_comparisons` reads its pairs."""
    return [
        _comparison_row(result, first, entry["setting"], metric, label)
        for entry in result["results"]
        if entry["setting"] != first
        for metric, label in METRICS.items()
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
