"""The attack study as the book's tables: what leaks, what the inversion attack recovers, what the erasure costs.

Every rate pools the study's training runs; `tables.percent_over_runs` gives it both its Wilson
interval over images and the interval with the run as the unit. What the numbers mean is said on
the page (chapter 7), not here.
"""

from .stats import compare_runs
from .tables import change_over_runs, percent_over_runs

ATTACK_VARIANTS = {"original": "original (no erasure)", "esd_x": "ESD-X (attn2)", "esd_u": "ESD-U (noxattn)", "full": "full fine-tuning"}


def pooled_rate(entry: dict) -> str:
    """One pooled entry of an attack study's summary as "rate (interval; runs interval)"."""
    return percent_over_runs([tuple(counts) for counts in entry["per_run"]])


def attack_table(study: dict, detail: bool = False) -> list[dict]:
    """The attack study as the book shows it: per variant, how often Van Gogh is drawn by held-out prompts and
    after the inversion attack, and how many images of the other styles keep their style; `detail` adds
    his unseen phrasings and his artworks' names. Runs pooled (`pooled_rate`)."""
    rows = []
    for row in study["summary"]:
        table_row = {"model": ATTACK_VARIANTS[row["variant"]], "Van Gogh, held-out": pooled_rate(row["van_gogh_heldout"])}
        if detail:
            table_row["unseen phrasings"] = pooled_rate(row["van_gogh_unseen"])
            table_row["artworks"] = pooled_rate(row["van_gogh_artworks"])
        table_row["after the attack"] = pooled_rate(row["van_gogh_after_attack"])
        table_row["other styles kept"] = pooled_rate(row["others_heldout"])
        rows.append(table_row)
    return rows


def attack_comparison(studies: dict[str, dict], variant: str = "esd_x") -> list[dict]:
    """One variant's `attack_table` row from several attack studies (one per recipe, say), each labelled with its name."""
    rows = []
    for name, study in studies.items():
        found = [row for row, summary in zip(attack_table(study), study["summary"], strict=True) if summary["variant"] == variant]
        if not found:
            raise ValueError(f"the study {name!r} has no {variant!r} runs; it has {[s['variant'] for s in study['summary']]}")
        rows.append({"recipe": name, **{key: value for key, value in found[0].items() if key != "model"}})
    return rows


def attack_runs(study: dict, variant: str = "esd_x") -> list[float]:
    """Each training run's rate of Van Gogh after the attack, for one variant: what `stats.compare_runs` compares."""
    (row,) = [row for row in study["summary"] if row["variant"] == variant]
    return [hits / images for hits, images in row["van_gogh_after_attack"]["per_run"]]


def recipe_changes(studies: dict[str, dict], variant: str = "esd_x") -> list[dict]:
    """Each study after the first against the first (the recipe), on how often the attack brings Van Gogh back:
    the change of the mean over runs with its standard error, and whether it is beyond run-to-run noise."""
    (baseline_name, baseline), *others = studies.items()
    rows = []
    for name, study in others:
        comparison = compare_runs(attack_runs(baseline, variant), attack_runs(study, variant))
        rows.append(
            {
                "recipe": name,
                "against": baseline_name,
                "after the attack, change (points)": change_over_runs(comparison),
                "beyond run-to-run noise (> 2 s.e.)": "yes" if comparison["resolved"] else "no",
            }
        )
    return rows
