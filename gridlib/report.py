"""From results files to the book's tables and statistics: every number the book prints about a study.

`gridlib.experiments` writes the results files; this module reads them (old names included, see
`RENAMED`) and makes the tables: a study's settings side by side, which differences are beyond
seed noise, how many runs met the book's targets, and the erasure check's mean over seeds.
Markdown rendering lives here too, so a chapter imports its tables from one place.
"""

import json
import math
import statistics
from collections import Counter
from collections.abc import Iterator
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
    if "settings" in result.get("study", {}):  # an ablation study's (the attack study has variants instead)
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


def meets_targets(result: dict, run: dict) -> bool:
    """Whether one run reached the book's targets for a toy erasure (`MAX_ERASED_RATE`, `MAX_DROP_POINTS`): the
    target style erased, every other style kept, and, where the judge sees it, every style's content kept."""
    changes = [*style_changes(result, run).values(), *content_changes(result, run).values()]
    return run["rates"][result["target"]] <= MAX_ERASED_RATE and min(round(change, 6) for change in changes) >= -MAX_DROP_POINTS


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
        }
        if result.get("baseline_content"):  # the requested shape and colour: the study's judge sees content
            content_style, content_drop, _ = largest_drop(result, entry, content_changes)
            row["content, largest drop (points)"] = f"{content_style} {content_drop:+.1f}"
        row["runs meeting the targets"] = f"{sum(meets_targets(result, run) for run in runs)} of {len(runs)}"
        passes = (statistics.fmean(r["unet_passes"][kind] for r in runs) for kind in ("forward", "backward"))
        row["UNet fwd / bwd per run"] = "{:.0f} / {:.0f}".format(*passes)
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


def only_settings(result: dict, settings: tuple[str, ...]) -> dict:
    """A study's results file narrowed to some of its settings, in its own order (one study can serve two chapters)."""
    missing = set(settings) - {entry["setting"] for entry in result["results"]}
    if missing:
        raise ValueError(f"the study has no settings {sorted(missing)}; it has {[entry['setting'] for entry in result['results']]}")
    return {**result, "results": [entry for entry in result["results"] if entry["setting"] in settings]}


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


def difference_interval(after: tuple[int, int], before: tuple[int, int], z: float = 1.96) -> tuple[float, float]:
    """Newcombe's 95% interval for a change of rate, after minus before, each given as (successes, trials).

    Built from the two Wilson intervals, treating the samples as independent: for same-seed images of
    two models, which agree more often than chance, the interval is wider than it needs to be.
    """
    (p1, (l1, u1)), (p2, (l2, u2)) = ((k / n, wilson_interval(k, n, z)) for k, n in (after, before))
    change = p1 - p2
    return change - math.hypot(p1 - l1, u2 - p2), change + math.hypot(u1 - p1, p2 - l2)


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


def percent_with_interval(counts: tuple[int, int] | list[int]) -> str:
    """(successes, trials) as "97.2% (92–99)": the rate and its Wilson 95% interval, in percent; "–" for no trials."""
    hits, trials = counts
    if not trials:
        return "–"
    low, high = wilson_interval(hits, trials)
    return f"{100 * hits / trials:.1f}% ({100 * low:.0f}–{100 * high:.0f})"


def pooled_counts(rows: list[dict], key: str) -> tuple[int, int]:
    """(successes, trials) of one measure summed over scorecard rows: runs, or styles, pooled."""
    return sum(row[key][0] for row in rows), sum(row[key][1] for row in rows)


def content_counts(row: dict) -> tuple[int, int]:
    """(successes, trials) of one `scorecard.rates` row's shape and colour checks together: how often the requested content was drawn."""
    (shape_hits, shape_trials), (colour_hits, colour_trials) = row["shape_match"], row["colour_match"]
    return shape_hits + colour_hits, shape_trials + colour_trials


def _points(after: tuple[int, int], before: tuple[int, int]) -> str:
    if not after[1] or not before[1]:
        return "–"
    return f"{100 * (after[0] / after[1] - before[0] / before[1]):+.1f}"


def _by_group(runs: list[list[dict]]) -> Iterator[tuple[tuple[str, str], list[dict]]]:
    """Each (split, style) of several runs' `scorecard.compare` rows, in the first run's order, with every run's row for it."""
    for key in dict.fromkeys((row["split"], row["style"]) for row in runs[0]):
        yield key, [next(row for row in run if (row["split"], row["style"]) == key) for run in runs]


def scorecard_table(runs: list[list[dict]], full: bool = False) -> list[dict]:
    """`scorecard.compare` rows as the book shows them, one row per prompt split and style: the style rate
    before and after (several runs' images pooled, with its Wilson 95% interval), the worst run where there
    are several, the change in shape and colour accuracy (pooled, points), and how far same-seed images
    moved (1.0 = another seed's distance). `full` adds the content accuracies themselves."""
    table = []
    for key, rows in _by_group(runs):
        after = {m: pooled_counts(rows, f"{m}_after") for m in ("style", "shape", "colour")}
        before = {m: tuple(rows[0][f"{m}_before"]) for m in ("style", "shape", "colour")}
        moved = [r["moved"] for r in rows if r["moved"] is not None]
        row = {
            "prompts": key[0],
            "style": key[1],
            "style before": percent_with_interval(before["style"]),
            "style after": percent_with_interval(after["style"]),
        }
        if len(runs) > 1:
            worst = (max if rows[0]["role"] == "erased" else min)(r["style_after"][0] / r["style_after"][1] for r in rows)
            row["worst run"] = f"{100 * worst:.1f}%"
        row["shape (points)"] = _points(after["shape"], before["shape"])
        row["colour (points)"] = _points(after["colour"], before["colour"])
        row["moved"] = f"{statistics.fmean(moved):.2f}" if moved else "–"
        if full:
            for measure in ("shape", "colour"):
                row[f"{measure} before"] = percent_with_interval(before[measure])
                row[f"{measure} after"] = percent_with_interval(after[measure])
        table.append(row)
    return table


def erasure_check_table(check: dict, full: bool = False) -> list[dict]:
    """The erasure check's `scorecard_table`, its runs (one per training seed) pooled."""
    return scorecard_table([run["rows"] for run in check["runs"]], full)


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
    change, where = min(drops)
    return f"{where}: {change:+.1f}" if change < 0 else "none"


def recipe_comparison(checks: dict[str, dict], splits: tuple[str, ...] = ("train", "heldout")) -> list[dict]:
    """One row per erasure check (one per recipe, say): the targets each run met, the target style left on held-out
    prompts (runs pooled, Wilson 95% interval), and the largest pooled drop of another style and of any style's
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
                    drop = (100 * (after[0] / after[1] - before[0] / before[1]), f"{key[0]} / {key[1]} {measure}")
                    (content_drops if measure != "style" else style_drops).append(drop)
        erased = [next(r for r in run if r["split"] == "heldout" and r["role"] == "erased") for run in runs]
        table.append(
            {
                "recipe": name,
                "targets met, run by run": ", ".join(str(sum(t["met"] for t in run["targets"])) for run in check["runs"])
                + f" of {len(check['runs'][0]['targets'])}",
                "Van Gogh left, held-out": percent_with_interval(pooled_counts(erased, "style_after")),
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
    """For each object asked for in `style`'s `split` prompts: how often the style is drawn and the object kept
    (shape and colour checks pooled), before erasing and after (seeds pooled), sorted by the content lost."""
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
            "style before": percent_with_interval(before[name]["style_match"]),
            "style after": percent_with_interval(pooled_counts(rows, "style_match")),
            "content before": percent_with_interval(was),
            "content after": percent_with_interval(now),
            "content change (points)": _points(now, was),
        }
        table.append((now[0] / now[1] - was[0] / was[1], row))
    return [row for _, row in sorted(table, key=lambda pair: pair[0])]


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
    return percent_with_interval((round(rate * samples), samples))


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


ATTACK_VARIANTS = {"original": "original (no erasure)", "esd_x": "ESD-X (attn2)", "esd_u": "ESD-U (noxattn)", "full": "full fine-tuning"}


def _pooled_rate(entry: dict) -> str:
    return percent_with_interval((entry["successes"], entry["images"]))


def attack_table(study: dict) -> list[dict]:
    """The attack study as the book shows it: per variant, how often Van Gogh is drawn by held-out and
    unseen phrasings, by his artworks' names, and after the inversion attack; and how many images of
    the other styles keep their style. Runs pooled, Wilson 95% intervals."""
    return [
        {
            "model": ATTACK_VARIANTS[row["variant"]],
            "Van Gogh, held-out": _pooled_rate(row["van_gogh_heldout"]),
            "unseen phrasings": _pooled_rate(row["van_gogh_unseen"]),
            "artworks": _pooled_rate(row["van_gogh_artworks"]),
            "after the attack": _pooled_rate(row["van_gogh_after_attack"]),
            "other styles kept": _pooled_rate(row["others_heldout"]),
        }
        for row in study["summary"]
    ]


def attack_comparison(studies: dict[str, dict], variant: str = "esd_x") -> list[dict]:
    """One variant's `attack_table` row from several attack studies (one per recipe, say), each labelled with its name."""
    rows = []
    for name, study in studies.items():
        found = [row for row, summary in zip(attack_table(study), study["summary"], strict=True) if summary["variant"] == variant]
        if not found:
            raise ValueError(f"the study {name!r} has no {variant!r} runs; it has {[s['variant'] for s in study['summary']]}")
        rows.append({"recipe": name, **{key: value for key, value in found[0].items() if key != "model"}})
    return rows


def attack_answer(study: dict) -> str:
    """The attack study's answer in sentences, every number read from the file."""
    rows = {row["variant"]: row for row in study["summary"]}
    lines = []
    if "original" in rows:
        ceiling = rows["original"]["van_gogh_after_attack"]
        lines.append(
            f"- **The attack's ceiling.** On the original model the learned token draws Van Gogh in {_pooled_rate(ceiling)} of images."
        )
    for variant in ("esd_x", "esd_u", "full"):
        if variant in rows:
            row = rows[variant]
            line = (
                f"- **{ATTACK_VARIANTS[variant]}**: Van Gogh on {_pooled_rate(row['van_gogh_heldout'])} of held-out prompts, "
                f"{_pooled_rate(row['van_gogh_unseen'])} of unseen phrasings and {_pooled_rate(row['van_gogh_artworks'])} of his "
                f"artworks' names; **after the attack {_pooled_rate(row['van_gogh_after_attack'])}**; other styles kept "
                f"{_pooled_rate(row['others_heldout'])}."
            )
            if row["others_heldout"]["rate"] < 0.5:
                line += (
                    " At this strength the erasure broke the model (most images of the other styles lost their style too), "
                    "so a low rate after the attack says nothing about robust erasure."
                )
            lines.append(line)
    return "\n".join(lines)


def attention_overhead_table(rows: list[dict]) -> list[dict]:
    """`benchmarks/attention_overhead.py`'s rows as the book shows them: per model and device, the attention
    map's examples against the difference map's (paired medians) and what the recorded attention holds."""
    return [
        {
            "model": row["model"],
            "device": f"{row['device']}, {row['dtype']}",
            "difference map (s)": f"{row['median_s']['difference']:.3g}",
            "attention map (s)": f"{row['median_s']['attention']:.3g}",
            "ratio": f"{row['attention_over_difference']:.2f}x",
            "recorded per example": f"{row['recorded_mb_per_example']:.1f} MB ({row['attn2_layers']} attn2 layers)",
            "date": row["date"],
        }
        for row in rows
    ]


def counts_by_setting(rows: list[dict], measure: str = "style") -> dict[tuple[int, float], dict[str, tuple[int, int]]]:
    """`gridlib.fidelity`'s rows pooled over splits: for each sampler setting (steps, guidance), each style's
    (successes, trials) on `measure`: style, shape, colour, or content (shape and colour together)."""
    counts_of = content_counts if measure == "content" else (lambda row: row[f"{measure}_match"])
    pooled: dict[tuple[int, float], dict[str, tuple[int, int]]] = {}
    for row in rows:
        by_style = pooled.setdefault((row["sample_steps"], row["guidance"]), {})
        hits, trials = by_style.get(row["style"], (0, 0))
        new_hits, new_trials = counts_of(row)
        by_style[row["style"]] = (hits + new_hits, trials + new_trials)
    return pooled


def fidelity_table(result: dict, measure: str = "style") -> list[dict]:
    """`gridlib.fidelity`'s results as the book shows them: one row per sampler setting, one column per
    style, each the share of images whose `measure` (style, or content: shape and colour together) matched the prompt."""
    return [
        {"DDIM steps": steps, "guidance": guidance, **{style: percent_with_interval(counts) for style, counts in by_style.items()}}
        for (steps, guidance), by_style in counts_by_setting(result["rows"], measure).items()
    ]
