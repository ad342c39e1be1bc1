from dataclasses import asdict
from pathlib import Path

import pytest

from gridlib.attack_tables import attack_comparison
from gridlib.check_tables import before_after_table, object_table, recipe_comparison
from gridlib.claims import attention_overhead_table
from gridlib.measure import meets_targets
from gridlib.results import read_results
from gridlib.settings import recipe
from gridlib.stats import compare_runs, difference_interval, run_interval, wilson_interval
from gridlib.studies import study_recipe
from gridlib.study_tables import (
    compare_settings,
    comparisons_with,
    content_changes,
    key_comparisons,
    largest_drop,
    only_settings,
    results_table,
    run_meets_targets,
    study_label,
    study_tables,
)
from gridlib.tables import change_over_runs, markdown_table, percent_over_runs, percent_with_interval, record_table, style_name

RESULTS = Path(__file__).parent.parent / "results"
ROOT = RESULTS.parent


def test_study_tables_fit_the_page_and_fold_the_full_table_away():
    result = read_results(RESULTS / "ablations.json")
    headline, full = results_table(result), results_table(result, detail=True)
    assert list(headline[0]) == [  # five columns at most on a page; the rest fold away
        "setting",
        "Van Gogh left (%)",
        "other styles kept (%)",
        "largest drop (points)",
        "runs meeting the targets",
    ]
    assert set(headline[0]) < set(full[0]) and headline[0]["setting"] == "none"
    assert headline[2]["setting"] == "grid4 (= none)" and full[2]["setting"] == "grid4 (= none: same weight map, trained once)"
    text = study_tables(result)
    assert text.index("| setting |") < text.index("<details>") < text.index("| masks |") < text.index("</details>")


@pytest.mark.parametrize("successes, trials, low, high", [(0, 32, 0.0, 0.1072), (32, 32, 0.8928, 1.0), (5, 10, 0.2366, 0.7634)])
def test_wilson_interval_matches_the_textbook_values(successes, trials, low, high):
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_refuses_impossible_counts():
    with pytest.raises(ValueError, match="need 0 <= successes <= trials"):
        wilson_interval(3, 2)


def test_markdown_table_shows_rates_as_percentages():
    table = markdown_table([{"style": "photo", "before": 0.9, "after": 0.875}], percent=("before", "after"))
    assert table.splitlines() == ["| style | before | after |", "|---|---|---|", "| photo | 90.0% | 87.5% |"]
    assert markdown_table([]) == ""


def test_compare_settings_resolves_only_differences_beyond_the_seeds_spread():
    def entry(name, rates):
        return {"setting": name, "runs": [{"target_left": r, "preservation": 0.9} for r in rates]}

    result = {"results": [entry("none", [0.10, 0.12, 0.14]), entry("grid3_center", [0.02, 0.03, 0.04]), entry("noisy", [0.0, 0.3, 0.1])]}
    clear = compare_settings(result, "none", "grid3_center")
    assert clear["difference_points"] == -9.0 and clear["standard_error_points"] == 1.3 and clear["resolved"]
    assert not compare_settings(result, "none", "noisy")["resolved"]
    rows = key_comparisons(result)  # only full vs grid3_center is present among the study's pairs
    assert [(r["setting"], r["metric"]) for r in rows] == [("grid3_center", "Van Gogh left"), ("grid3_center", "other styles kept")]
    assert rows[0]["change (points)"] == "-9.0 ± 1.3" and rows[0]["beyond seed noise (> 2 s.e.)"] == "yes"
    with pytest.raises(ValueError, match="setting 'grid9' is not in this result"):
        compare_settings(result, "none", "grid9")


def test_largest_drop_names_the_style_that_lost_most_and_the_worst_run():
    runs = [{"rates": {"van_gogh": 0.0, "seurat": 0.90, "photo": 0.99}}, {"rates": {"van_gogh": 0.1, "seurat": 1.0, "photo": 0.94}}]
    result = {"target": "van_gogh", "baseline": {"van_gogh": 1.0, "seurat": 1.0, "photo": 1.0}}
    style, mean_drop, worst = largest_drop(result, {"runs": runs})
    assert style == "seurat" and mean_drop == pytest.approx(-5.0) and worst == pytest.approx(-10.0)


def test_the_before_after_table_pools_runs_with_both_intervals_in_five_columns():
    def row(style_after, shape_after):
        counts = {"style_before": [10, 10], "style_after": style_after, "shape_before": [9, 10], "shape_after": shape_after}
        return {
            "split": "heldout",
            "style": "van_gogh",
            "role": "erased",
            **counts,
            "colour_before": [0, 0],
            "colour_after": [0, 0],
            "moved": 0.5,
        }

    (pooled,) = before_after_table([[row([0, 10], [9, 10])], [row([2, 10], [8, 10])]])
    assert list(pooled) == ["prompts · style", "style before", "style after", "content (points)", "moved"]
    assert pooled["style after"] == percent_over_runs([(0, 10), (2, 10)]) == "10.0% (3–30; runs 0–100)"
    assert pooled["content (points)"] == "-5.0" and pooled["moved"] == "0.50"
    (detailed,) = before_after_table([[row([0, 10], [9, 10])], [row([2, 10], [8, 10])]], detail=True)
    assert detailed["worst run"] == "20.0%" and detailed["shape after"] == "85.0% (64–95)"
    (single,) = before_after_table([[row([0, 10], [9, 10])]], detail=True)
    assert "worst run" not in single and single["style after"] == percent_with_interval((0, 10))


def test_the_run_interval_is_a_t_interval_over_runs():
    low, high = run_interval([0.2, 0.3, 0.4])  # mean 0.3, sd 0.1, t(2) = 4.303: 0.3 +- 0.248
    assert (low, high) == pytest.approx((0.0516, 0.5484), abs=1e-4)
    assert run_interval([0.5]) == (0.0, 1.0) and run_interval([0.0, 0.0]) == (0.0, 0.0)
    assert compare_runs([0.1, 0.12, 0.14], [0.02, 0.03, 0.04])["resolved"]


def test_newcombe_interval_matches_the_published_example():
    assert difference_interval((56, 70), (48, 80)) == pytest.approx((0.0524, 0.3339), abs=1e-4)  # Newcombe (1998), example (a)


def test_study_label_names_the_xt_route_of_the_base():
    assert study_label({"study": {"base": asdict(study_recipe())}}) == "x_t sampled in 10 DDIM steps (ESD's route)"
    assert study_label({"study": {"base": asdict(recipe("toy"))}}) == "x_t from noise (the toy recipe)"


def test_meets_targets_needs_both_erasure_and_preservation_and_includes_the_limits():
    baseline = {"van_gogh": 1.0, "seurat": 1.0, "photo": 0.95}
    rates = lambda vg, seurat, photo: {"van_gogh": vg, "seurat": seurat, "photo": photo}  # noqa: E731
    assert meets_targets(rates(0.10, 0.95, 0.90), baseline, {}, {}, "van_gogh")  # exactly 10% left, exactly 5 points lower
    assert not meets_targets(rates(0.11, 1.0, 0.95), baseline, {}, {}, "van_gogh")
    assert not meets_targets(rates(0.0, 0.94, 0.95), baseline, {}, {}, "van_gogh")
    assert not meets_targets(rates(0.0, 1.0, 0.89), baseline, {}, {}, "van_gogh")


def test_meets_targets_also_needs_every_styles_content_where_it_was_measured():
    result = {"target": "van_gogh", "baseline": {"van_gogh": 1.0, "photo": 1.0}, "baseline_content": {"van_gogh": 0.98, "photo": 1.0}}
    run = lambda content_vg, content_photo: {  # noqa: E731
        "rates": {"van_gogh": 0.0, "photo": 1.0},
        "content": {"van_gogh": content_vg, "photo": content_photo},
    }
    assert run_meets_targets(result, run(0.93, 0.95))  # exactly 5 points lower
    assert not run_meets_targets(result, run(0.90, 1.0))  # Van Gogh prompts lost their content
    assert content_changes(result, run(0.90, 1.0)) == pytest.approx({"van_gogh": -8.0, "photo": 0.0})
    entry = {"setting": "none", "target_left": {"mean": 0, "std": 0}, "preservation": {"mean": 1, "std": 0}}
    entry["runs"] = [{**run(0.90, 1.0), "unet_passes": {"forward": 3, "backward": 1}}]
    rows = results_table({**result, "results": [entry]})
    assert rows[0]["largest drop (points)"] == "photo +0.0; content: van_gogh -8.0" and rows[0]["runs meeting the targets"] == "0 of 1"


def test_comparisons_with_one_setting_cover_every_other_setting_on_both_metrics():
    result = read_results(RESULTS / "masks_noise.json")
    rows = comparisons_with(result, "none")
    assert [(row["setting"], row["metric"]) for row in rows[:2]] == [
        ("grid3_center", "Van Gogh left"),
        ("grid3_center", "other styles kept"),
    ]
    assert len(rows) == 2 * (len(result["results"]) - 1) and {row["against"] for row in rows} == {"none"}


def test_only_settings_narrows_a_study_and_names_a_missing_setting():
    result = {"target": "van_gogh", "results": [{"setting": name} for name in ("none", "grid3_center", "attention_3")]}
    assert [entry["setting"] for entry in only_settings(result, ("attention_3", "none"))["results"]] == ["none", "attention_3"]
    with pytest.raises(ValueError, match=r"no settings \['grid9'\]"):
        only_settings(result, ("grid9",))


def test_the_attention_overhead_table_reads_a_benchmark_row():
    row = {"model": "toy", "device": "cpu (x86_64, 1 threads)", "dtype": "float32", "median_s": {"difference": 0.0981, "attention": 0.1154},
           "attention_over_difference": 1.177, "recorded_mb_per_example": 0.62, "attn2_layers": 7, "date": "2026-12-02"}  # fmt: skip
    (shown,) = attention_overhead_table([row])
    assert (
        shown["ratio"] == "1.18x" and shown["recorded per example"] == "0.6 MB (7 attn2 layers)" and shown["attention map (s)"] == "0.115"
    )
    assert len(shown) <= 5 and shown["model on device"] == "toy on cpu (x86_64, 1 threads), float32"


def test_the_object_table_pools_runs_per_object_and_puts_the_largest_content_loss_first():
    def row(obj, style, shape, colour, split="heldout"):
        return {"split": split, "style": "van_gogh", "object": obj, "style_match": style, "shape_match": shape, "colour_match": colour}

    check = {
        "original_by_object": [
            row("orange circle", (4, 4), (4, 4), (4, 4)),
            row("red square", (4, 4), (4, 4), (4, 4)),
            row(None, (2, 2), (0, 0), (0, 0)),
        ],
        "runs": [
            {
                "by_object": [
                    row("orange circle", (1, 4), (2, 4), (3, 4)),
                    row("red square", (0, 4), (4, 4), (4, 4)),
                    row("red square", (4, 4), (4, 4), (4, 4), "train"),
                ]
            },
            {"by_object": [row("orange circle", (0, 4), (4, 4), (3, 4)), row("red square", (0, 4), (4, 4), (3, 4))]},
        ],
    }
    first, second = object_table(check, "van_gogh")
    assert first["object"] == "orange circle" and first["style after"].startswith("12.5%") and first["content change (points)"] == "-25.0"
    assert second["object"] == "red square" and second["style after"].startswith("0.0%") and second["content change (points)"] == "-6.2"


def test_the_attack_comparison_takes_one_variants_row_from_each_study():
    def study(hits):
        rate = {"successes": hits, "images": 10, "rate": hits / 10, "interval": wilson_interval(hits, 10), "per_run": [[hits, 10]]}
        keys = ("van_gogh_heldout", "van_gogh_unseen", "van_gogh_artworks", "van_gogh_after_attack", "others_heldout")
        return {"summary": [{"variant": variant, **dict.fromkeys(keys, rate)} for variant in ("original", "esd_x")]}

    rows = attack_comparison({"first": study(1), "second": study(4)})
    assert [row["recipe"] for row in rows] == ["first", "second"] and "model" not in rows[0]
    assert rows[0]["after the attack"].startswith("10.0%") and rows[1]["after the attack"].startswith("40.0%")
    with pytest.raises(ValueError, match="has no 'esd_u' runs"):
        attack_comparison({"first": study(1)}, "esd_u")


def test_the_recipe_comparison_counts_targets_per_run_and_finds_the_largest_pooled_drops():
    def row(split, style, role, style_after, shape_after):
        counts = {f"{m}_before": (10, 10) for m in ("style", "shape", "colour")}
        return {"split": split, "style": style, "role": role, **counts,
                "style_after": style_after, "shape_after": shape_after, "colour_after": (10, 10)}  # fmt: skip

    def run(vg_left, mondrian_shape, met):
        rows = [row(split, "van_gogh", "erased", (vg_left, 10), (10, 10)) for split in ("train", "heldout", "unseen")]
        rows.append(row("heldout", "mondrian", "preserved", (9, 10), (mondrian_shape, 10)))
        return {"rows": rows, "targets": [{"met": i < met} for i in range(4)]}

    (line,) = recipe_comparison({"a recipe": {"runs": [run(1, 8, 4), run(0, 6, 2)]}})
    assert line["targets met, run by run"] == "4, 2 of 4"
    assert line["Van Gogh left, held-out"] == "5.0% (1–24; runs 0–69)"  # 1 of 20 images, runs pooled; 10% and 0% by run
    assert line["other styles, largest drop"] == "-10.0 (heldout / Mondrian style)"
    assert line["content, largest drop"] == "-30.0 (heldout / Mondrian shape)"  # unseen split not judged
    no_content = {
        "runs": [{**r, "rows": [{**x, "shape_before": (0, 0), "colour_before": (0, 0)} for x in r["rows"]]} for r in [run(1, 8, 4)]]
    }
    (line,) = recipe_comparison({"CLIP judges no content": no_content})  # as on SD1.4
    assert line["content, largest drop"] == "–" and line["other styles, largest drop"] == "-10.0 (heldout / Mondrian style)"


def test_the_findings_are_read_from_the_committed_files():
    from gridlib.findings import attack_findings, erasure_findings, mask_findings

    erasure = erasure_findings(read_results(RESULTS / "toy_erasure.json"))
    assert erasure["runs"] == "3" and erasure["targets_met"].endswith("of 24") and "runs" in erasure["target_after"]
    masks = mask_findings(read_results(RESULTS / "masks_noise.json"))
    assert masks["grid_runs"] == "5" and isinstance(masks["grid_resolved"], bool) and " ± " in masks["grid_left_change"]
    attack = attack_findings(read_results(RESULTS / "attacks.json"))
    assert attack["attack_steps"] == "300" and attack["attack_ceiling"].startswith("100.0%") and attack["attack_images"] == "216"


def test_a_record_reads_as_two_columns_with_dotted_keys():
    rows = record_table({"steps": 6000, "lr": 0.001234567, "accuracy": {"style": {"seurat": 0.99}}})
    assert rows == [
        {"field": "steps", "value": "6000"},
        {"field": "lr", "value": "0.001235"},
        {"field": "accuracy.style.seurat", "value": "0.99"},
    ]


def test_the_memory_finding_reads_the_equal_precision_gpu_rows():
    from gridlib.findings import memory_findings

    found = memory_findings(read_results(ROOT / "benchmarks" / "results.jsonl"))
    assert found == {"gridlib_peak": "3.69 GiB", "reference_peak": "12.09 GiB", "memory_gpu": "an NVIDIA H200"}
    assert memory_findings([]) == {}


def test_gpu_expectations_come_from_the_measured_rows_and_mark_the_t4_as_an_estimate():
    import json

    from gridlib.findings import gpu_expectations

    fit = read_results(ROOT / "benchmarks" / "t4_fit.jsonl")[-1]
    chapters = json.loads((ROOT / "benchmarks" / "chapters_fit_h200.json").read_text())
    rows = gpu_expectations(fit, chapters, chapter4_images=178, steps_ratio=0.5)
    assert list(rows[0]) == ["at the SD defaults", "NVIDIA H200 (measured)", "T4 (estimate)"]
    assert [row["NVIDIA H200 (measured)"] for row in rows[:3]] == ["4.23 GiB", "5.70 GiB", "5.96 GiB"]
    iteration = next(row for row in rows if row["at the SD defaults"].startswith("one training iteration"))
    assert (iteration["NVIDIA H200 (measured)"], iteration["T4 (estimate)"]) == ("1.04 s", "16 s")
    assert rows[-3]["NVIDIA H200 (measured)"] == "56 s"  # 178 images x 0.625 s x half the steps


def test_the_headline_findings_merge_the_three_files_and_leave_out_a_missing_one():
    from gridlib.findings import headline_findings

    erasure, masks, attacks = (read_results(RESULTS / name) for name in ("toy_erasure.json", "masks_noise.json", "attacks.json"))
    found = headline_findings(erasure, masks, attacks)
    assert found["grid_verdict"] == ("beyond" if found["grid_resolved"] else "within") and "attack_recovered" in found
    assert "targets_met" in found and not {"grid_verdict", "grid_runs"} & set(headline_findings(erasure, None, attacks))


def test_a_change_over_runs_reads_as_points_with_its_standard_error():
    assert change_over_runs(compare_runs([0.10, 0.20], [0.30, 0.40])) == "+20.0 ± 7.1"  # s.e. sqrt(0.005/2 * 2) = 7.1 points
    assert change_over_runs({"difference_points": -3.0, "standard_error_points": 0.0}) == "-3.0 ± 0.0"


def test_style_name_names_the_toy_worlds_styles_and_leaves_sd_names_alone():
    assert [style_name(s) for s in ("van_gogh", "seurat", "photo")] == ["Van Gogh", "Seurat", "photo"]
    assert style_name("Vincent van Gogh") == "Vincent van Gogh"


def test_chapter_6s_words_hold_on_the_committed_studies():
    """Chapter 6 says, in words: beyond run-to-run noise only the sharp difference map changes anything; the
    adaptive grid and the attention map change nothing measurable. Both committed studies must keep saying so."""
    from gridlib.findings import concept_map_findings

    for file in ("masks_noise.json", "masks_sampled.json"):
        beyond = concept_map_findings(read_results(RESULTS / file))["beyond_noise"]
        assert beyond != "none" and all(item.startswith("difference_3 (") for item in beyond.split("; ")), (file, beyond)
