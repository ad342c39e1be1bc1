"""The book's headline findings, each computed from a committed results file, for the intro and the results page.

Every value is a short formatted string that a page glues into its prose (`gridlib.glue`); the words
around them, and which verdict a comparison earns, are the page's. A finding whose file is missing is
left out, and the page says so.
"""

from .attack_tables import pooled_rate
from .check_tables import recipe_comparison
from .measure import pooled_counts
from .study_tables import compare_settings
from .tables import percent_with_interval


def erasure_findings(check: dict) -> dict[str, str]:
    """The toy recipe's erasure check: Van Gogh on held-out prompts before and after, the targets met run by run,
    and the largest pooled drops of another style and of any style's requested content."""
    (row,) = recipe_comparison({"recipe": check})
    erased = [next(r for r in run["rows"] if r["split"] == "heldout" and r["role"] == "erased") for run in check["runs"]]
    return {
        "runs": str(len(check["runs"])),
        "target_before": percent_with_interval(tuple(erased[0]["style_before"])),
        "target_after": row["Van Gogh left, held-out"],
        "target_images": str(pooled_counts(erased, "style_after")[1]),
        "targets_met": row["targets met, run by run"],
        "others_drop": row["other styles, largest drop"],
        "content_drop": row["content, largest drop"],
    }


def mask_findings(study: dict, first: str = "none", second: str = "grid3_center") -> dict[str, object]:
    """The grid against plain ESD-X in one study: the change of Van Gogh left and of other styles kept, in points
    over runs (mean difference +/- its standard error), whether each is beyond run-to-run noise, and the runs."""
    left, kept = (compare_settings(study, first, second, metric) for metric in ("target_left", "preservation"))
    return {
        "grid_left_change": f"{left['difference_points']:+.1f} ± {left['standard_error_points']:.1f}",
        "grid_kept_change": f"{kept['difference_points']:+.1f} ± {kept['standard_error_points']:.1f}",
        "grid_resolved": left["resolved"] or kept["resolved"],
        "grid_runs": str(len(study["study"]["seeds"])),
    }


def attack_findings(study: dict) -> dict[str, str]:
    """The inversion attack on ESD-X, and on the original model (the attack's ceiling), runs pooled."""
    rows = {row["variant"]: row for row in study["summary"]}
    return {
        "attack_recovered": pooled_rate(rows["esd_x"]["van_gogh_after_attack"]),
        "attack_ceiling": pooled_rate(rows["original"]["van_gogh_after_attack"]),
        "attack_steps": str(study["study"]["inversion"]["steps"]),
    }
