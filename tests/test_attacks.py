from pathlib import Path

import pytest

from gridlib.attack_tables import attack_table, pooled_rate, recipe_changes
from gridlib.attacks import AttackStudy, attack_cases, attack_suite, leak_suite, measured_cases, run_attack_study, summarise
from gridlib.inversion import InversionConfig
from gridlib.prompts import SD_VAN_GOGH_PROMPTS
from gridlib.results import read_results
from gridlib.settings import recipe

RESULTS = Path(__file__).parent.parent / "results"


def test_attack_prompts_put_the_token_where_the_name_goes_for_every_object():
    cases = attack_cases("<style>")
    assert len(cases) == 6 * 12 == len({c.prompt for c in cases})  # six training phrasings, twelve objects
    assert all("<style>" in c.prompt and c.shape and c.colour and c.style == "van_gogh" for c in cases)
    assert all("<style>" in c.prompt and c.style == "Vincent van Gogh" for c in attack_suite("sd14", "<style>"))


def test_leak_prompts_never_name_the_painter_nor_repeat_the_erasure_prompts():
    toy = leak_suite("toy")
    assert {c.split for c in toy} == {"unseen", "artworks"}
    assert not any("gogh" in c.prompt.lower() for c in toy if c.split == "artworks")
    sd = leak_suite("sd14")
    assert sd and not any("gogh" in c.prompt.lower() for c in sd)
    assert not any(c.prompt.lower() in " ".join(SD_VAN_GOGH_PROMPTS).lower() for c in sd)


def test_the_cases_measured_before_the_attack_are_every_case_or_a_balanced_sample():
    every = measured_cases()
    assert {(c.split, c.style) for c in every if c.style == "van_gogh"} == {
        ("train", "van_gogh"),
        ("heldout", "van_gogh"),
        ("unseen", "van_gogh"),
        ("artworks", "van_gogh"),
    }
    assert {c.split for c in every if c.style != "van_gogh"} == {"heldout", "artworks"}
    sampled = measured_cases(per_style=3)
    groups = {(c.split, c.style) for c in every}
    assert sorted((c.split, c.style) for c in sampled) == sorted(g for g in groups for _ in range(3))
    assert measured_cases(per_style=3) == sampled  # seeded: the same sample every time


def test_bad_studies_are_refused_before_anything_trains():
    with pytest.raises(ValueError, match="variants must be a non-empty selection"):
        AttackStudy(variants=("esd_x", "lora")).validate()
    with pytest.raises(ValueError, match="seeds must be non-negative integers"):
        AttackStudy(seeds=(-1,)).validate()


def test_summary_pools_runs_and_gives_each_rate_its_interval():
    def run(variant, hits):
        rows = [
            {"split": "heldout", "style": "van_gogh", "style_match": (hits, 10)},
            {"split": "heldout", "style": "photo", "style_match": (9, 10)},
        ]
        return {
            "variant": variant,
            "seed": 0,
            "before_attack": rows,
            "attack": [{"split": "attack", "style": "van_gogh", "style_match": (hits, 10)}],
        }

    (row,) = summarise([run("esd_x", 1), run("esd_x", 3)], ("esd_x",))
    assert row["van_gogh_heldout"]["successes"] == 4 and row["van_gogh_heldout"]["images"] == 20
    assert row["others_heldout"]["rate"] == 0.9 and row["van_gogh_unseen"]["rate"] is None
    low, high = row["van_gogh_after_attack"]["interval"]
    assert low < 0.2 < high
    assert row["van_gogh_after_attack"]["per_run"] == [[1, 10], [3, 10]]
    # pooled 4 of 20 (Wilson 8-42%); the runs' own rates 10% and 30% give a t-interval over 2 runs (-107 to 147%, clipped)
    assert pooled_rate(row["van_gogh_after_attack"]) == "20.0% (8–42; runs 0–100)"


def test_the_study_erases_with_the_toy_recipe_changed_only_where_it_says():
    assert AttackStudy().erasure_config("noxattn", seed=4) == recipe("toy", method="noxattn", seed=4)
    every_level = AttackStudy(iterations=7, noise_levels=(0.0, 1.0)).erasure_config("xattn", seed=1)
    assert every_level == recipe("toy", method="xattn", seed=1, iterations=7, noise_levels=[0.0, 1.0])


@pytest.mark.parametrize("levels", [(0.6, 0.2), (0.0, 1.5), (0.5,), ()])
def test_the_study_refuses_bad_noise_levels_before_any_run(levels):
    with pytest.raises(ValueError, match="noise_levels must be two numbers"):
        AttackStudy(noise_levels=levels).validate()


@pytest.mark.slow
def test_a_small_attack_study_runs_end_to_end_on_the_toy_model(tmp_path):
    study = AttackStudy(
        variants=("original", "esd_x"),
        seeds=(0,),
        inversion=InversionConfig(steps=2, batch_size=2),
        pictures=4,
        image_seeds=(1,),
        sample_steps=1,
        iterations=2,
        cases_per_style=2,
    )
    result = run_attack_study(study, tmp_path, progress=False)
    assert [row["variant"] for row in result["summary"]] == ["original", "esd_x"]
    assert result["summary"][0]["van_gogh_after_attack"]["images"] == 6 * 12  # every attack prompt, one image seed
    assert result["summary"][0]["van_gogh_heldout"]["images"] == 2  # `cases_per_style` cases, one image seed
    assert "train_s" in result["runs"][1] and "train_s" not in result["runs"][0]
    assert len(attack_table(result)) == 2 and "unseen phrasings" in attack_table(result, detail=True)[0]


@pytest.mark.parametrize("name", ["attacks_every_noise_level.json", "attacks_200_iterations_every_level.json"])
def test_committed_controls_of_the_attack_study_change_only_the_recipe(name):
    """Chapter 7's controls: ESD-X with the recipe changed, attacked with the same budget and seeds as the study."""
    control, study = read_results(RESULTS / name), read_results(RESULTS / "attacks.json")
    assert [row["variant"] for row in control["summary"]] == ["esd_x"] and control["summary"][0]["seeds"] == [0, 1, 2]
    same = ("inversion", "pictures", "image_seeds", "sample_steps", "guidance", "cases_per_style")
    assert {key: control["study"][key] for key in same} == {key: study["study"][key] for key in same}
    assert control["recipe"] != study["recipe"]


def test_chapter_7s_verdicts_on_the_recipe_hold_on_the_committed_controls():
    """Chapter 7 says, in words: every noise level alone changes the attack's success within run-to-run noise; every
    noise level for 200 iterations lowers it beyond that noise. Re-measured files must keep saying so, or the page must change."""
    studies = {
        name: read_results(RESULTS / file)
        for name, file in [
            ("recipe", "attacks.json"),
            ("every level", "attacks_every_noise_level.json"),
            ("200 iterations", "attacks_200_iterations_every_level.json"),
        ]
    }
    rows = recipe_changes(studies)
    assert [(row["recipe"], row["against"]) for row in rows] == [("every level", "recipe"), ("200 iterations", "recipe")]
    assert [row["beyond run-to-run noise (> 2 s.e.)"] for row in rows] == ["no", "yes"]
    assert rows[1]["after the attack, change (points)"].startswith("-")  # the attack recovers less
