"""The book's headline findings, each computed from a committed results file, for the intro and the results page.

Every value is a short formatted string that a page glues into its prose (`gridlib.glue`); the words
around them, and which verdict a comparison earns, are the page's. A finding whose file is missing is
left out, and the page says so.
"""

import statistics

from .attack_tables import pooled_rate
from .check_tables import recipe_comparison
from .fidelity import weakest
from .measure import pooled_counts
from .study_tables import METRICS, compare_settings, content_changes, largest_drop, run_meets_targets
from .tables import change_over_runs, percent_with_interval, style_name


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
        "grid_left_change": change_over_runs(left),
        "grid_kept_change": change_over_runs(kept),
        "grid_resolved": left["resolved"] or kept["resolved"],
        "grid_runs": str(len(study["study"]["seeds"])),
    }


def attack_findings(study: dict) -> dict[str, str]:
    """The inversion attack on ESD-X (its rate and how many images it pools), and on the original model (the attack's
    ceiling), runs pooled."""
    rows = {row["variant"]: row for row in study["summary"]}
    return {
        "attack_recovered": pooled_rate(rows["esd_x"]["van_gogh_after_attack"]),
        "attack_images": str(rows["esd_x"]["van_gogh_after_attack"]["images"]),
        "attack_ceiling": pooled_rate(rows["original"]["van_gogh_after_attack"]),
        "attack_steps": str(study["study"]["inversion"]["steps"]),
    }


def headline_findings(check: dict | None, masks: dict | None, attacks: dict | None) -> dict[str, object]:
    """The findings the intro and the results page open with: the erasure check, the grid against plain ESD-X on the
    recipe's route (with `grid_verdict`, "beyond" or "within" run-to-run noise), and the attack; a missing file's are left out."""
    found: dict[str, object] = {}
    for read, result in ((erasure_findings, check), (mask_findings, masks), (attack_findings, attacks)):
        if result:
            found.update(read(result))
    if masks:
        found["grid_verdict"] = "beyond" if found["grid_resolved"] else "within"
    return found


def memory_findings(rows: list[dict]) -> dict[str, str]:
    """Peak GPU memory of one ESD step on SD1.4's architecture, gridlib against the two-UNet reference at equal
    precision (`benchmarks/results.jsonl`'s bfloat16 rows on a GPU), and the GPU that measured it."""
    peak = {}
    for row in rows:
        if row["model"] == "sd14-arch" and row["device"] == "cuda" and row["dtype"] == "bfloat16" and "peak_memory_GiB" in row:
            peak[row["implementation"]] = row
    if not {"gridlib", "reference"} <= set(peak):
        return {}
    return {
        "gridlib_peak": f"{peak['gridlib']['peak_memory_GiB']:.2f} GiB",
        "reference_peak": f"{peak['reference']['peak_memory_GiB']:.2f} GiB",
        "memory_gpu": f"an {peak['gridlib']['hardware']}",
    }


T4_SLOWER = 15  # an estimate: a T4's dense float16 throughput is about a fifteenth of an H200's (no T4 was measured)


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def gpu_expectations(fit: dict, chapters: dict, chapter4_images: int, steps_ratio: float) -> list[dict]:
    """What to expect on a GPU at the SD defaults, from `benchmarks/t4_fit.jsonl` (`fit`) and `chapters_fit_h200.json`
    (`chapters`): the measured figures, and a T4 estimate (time x `T4_SLOWER`, memory unchanged). `chapter4_images` and
    `steps_ratio` (the defaults' steps over the measured 50) scale the measured time per image to chapter 4's defaults."""
    gpu, iteration, per_image = fit["hardware"], chapters["chapter3_s_per_iteration_steady"], fit["chapter4_s_per_image"]
    peaks = {3: fit["chapter3_peak_GiB"], 4: fit["chapter4_peak_GiB"], 7: chapters["chapter7_peak_GiB"]}
    rows = [(f"peak GPU memory, chapter {n}", f"{peak:.2f} GiB", f"{peak:.1f} GiB: {'fits' if peak < 15 else 'does not fit'} 16 GB")
            for n, peak in peaks.items()]  # fmt: skip
    timed = {
        "one training iteration (x_t sampled in 50 DDIM steps)": iteration,
        'chapter 3, the report\'s recipe (`recipe_name = "sd14"`, 100 iterations)': 100 * iteration,
        'chapter 3, the paper\'s budget (`recipe_name = "sd14-paper"`, 1,000 iterations)': 1000 * iteration,
        "chapter 4, one image (50 DDIM steps)": per_image,
        f"chapter 4 at its defaults ({chapter4_images} images, {steps_ratio:.0%} of those steps)": chapter4_images
        * per_image
        * steps_ratio,
        "chapter 7, the attacker's 16 pictures": chapters["attacker_pictures_s"],
        "chapter 7, one inversion step": chapters["inversion_s_per_step"],
    }
    rows += [(what, _duration(seconds), _duration(T4_SLOWER * seconds)) for what, seconds in timed.items()]
    return [{"at the SD defaults": what, f"{gpu} (measured)": measured, "T4 (estimate)": t4} for what, measured, t4 in rows]


def ablation_findings(study: dict, masks: tuple[str, ...] = ("grid3_center", "grid4", "grid5", "multiscale")) -> dict[str, object]:
    """One equal-compute study read for chapter 5: how many mask-set comparisons with plain ESD-X (both metrics) are
    beyond run-to-run noise, the range of Van Gogh's mean content change across mask sets (points), the final
    losses of plain ESD-X, the grid and the noise route, and the runs meeting the targets on each route."""
    by = {entry["setting"]: entry for entry in study["results"]}
    present = [name for name in masks if name in by and not by[name].get("same_training_as")]
    resolved = sum(
        compare_settings(study, "none", name, metric)["resolved"] for name in present for metric in ("target_left", "preservation")
    )
    content = [statistics.fmean(content_changes(study, run)[study["target"]] for run in by[name]["runs"]) for name in ["none", *present]]
    found: dict[str, object] = {
        "mask_comparisons": 2 * len(present),
        "mask_resolved": resolved,
        "target_content_change": f"{min(content):+.1f} to {max(content):+.1f}" if study.get("baseline_content") else "–",
        "runs_per_setting": str(len(study["study"]["seeds"])),
    }
    for name, label in (("none", "plain"), ("grid3_center", "grid"), ("noise_equal_iterations", "noise")):
        if name in by:
            each = setting_findings(study, name)
            found[f"loss_{label}"], found[f"targets_{label}"] = each["final_loss"], each["met"]
    return found


def concept_map_findings(study: dict, against: str = "none") -> dict[str, object]:
    """Chapter 6's study read against plain ESD-X: which settings differ beyond run-to-run noise (and how), how many
    runs each met the targets, and the UNet passes every setting cost."""
    beyond = []
    for entry in study["results"]:
        if entry["setting"] == against:
            continue
        for metric, label in METRICS.items():
            change = compare_settings(study, against, entry["setting"], metric)
            if change["resolved"]:
                beyond.append(f"{entry['setting']} ({label} {change_over_runs(change)} points)")
    met = {entry["setting"]: sum(run_meets_targets(study, run) for run in entry["runs"]) for entry in study["results"]}
    passes = study["results"][0]["runs"][0]["unet_passes"]
    return {
        "beyond_noise": "; ".join(beyond) or "none",
        "plain_met": f"{met[against]} of {len(study['study']['seeds'])}",
        "maps_met": ", ".join(f"{name} {count}" for name, count in met.items() if name != against),
        "runs_per_setting": str(len(study["study"]["seeds"])),
        "passes": f"{passes['forward']} forward and {passes['backward']} backward",
    }


def fidelity_findings(result: dict, steps: int, guidance: float) -> dict[str, str]:
    """The original toy model under one sampler setting (`gridlib.fidelity`'s file): its weakest style's share of
    images drawn in style, and its weakest style's share of requested content (shape and colour checks pooled)."""
    found = {}
    for measure in ("style", "content"):
        style, (hits, trials) = weakest(result["rows"], measure)[(steps, guidance)]
        found[f"weakest_{measure}"] = f"{style_name(style)} {percent_with_interval((hits, trials))}, {hits} of {trials}"
    return found


def setting_findings(study: dict, setting: str) -> dict[str, str]:
    """One setting of a study: the runs meeting the targets, Van Gogh left (mean over runs), his mean content change and
    the other styles' largest mean drop (points, over runs), and the mean training time and final loss per run."""
    (entry,) = [entry for entry in study["results"] if entry["setting"] == setting]
    runs = entry["runs"]
    found = {
        "met": f"{sum(run_meets_targets(study, run) for run in runs)} of {len(runs)}",
        "left": f"{100 * statistics.fmean(run['target_left'] for run in runs):.1f}%",
        "others_drop": "{} {:+.1f}".format(*largest_drop(study, entry)[:2]),
        "train_s": f"{statistics.fmean(run['train_s'] for run in runs):.0f} s",
        "final_loss": f"{statistics.fmean(run['final_loss'] for run in runs):.4f}",
    }
    if study.get("baseline_content"):
        found["target_content"] = f"{statistics.fmean(content_changes(study, run)[study['target']] for run in runs):+.1f}"
    return found


def comparison_values(row: dict) -> dict[str, str]:
    """One `check_tables.recipe_comparison` row's values under short names, for a page's prose."""
    return {"met": row["targets met, run by run"], "left": row["Van Gogh left, held-out"], "content": row["content, largest drop"]}
