import filecmp
import os
import subprocess
import sys

import numpy as np
import pytest

from gridlib.models import TOY_ASSETS
from gridlib.toyworld.classifier import HEADS, labelled_dataset, load_classifier, per_class_accuracy
from gridlib.toyworld.prompts import (
    ARTWORKS,
    SPLITS,
    TEMPLATES,
    VAN_GOGH_PAINTER_PROMPTS,
    VAN_GOGH_PROMPTS,
    evaluation_cases,
    evaluation_prompts,
    leak_cases,
    neutral_prompt,
    object_phrase,
    templates,
    training_caption,
)
from gridlib.toyworld.tokenizer import write_tokenizer
from gridlib.toyworld.world import COLOURS, SHAPES, STYLES, Scene, render, render_batch, shape_mask


def test_the_generator_is_deterministic():
    a, scenes_a = render_batch(16, seed=3)
    b, scenes_b = render_batch(16, seed=3)
    assert np.array_equal(a, b) and scenes_a == scenes_b
    assert not np.array_equal(a, render_batch(16, seed=4)[0])
    assert a.shape == (16, 32, 32, 3) and a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_draws_an_object(shape):
    mask = shape_mask(shape, np.random.default_rng(0))
    assert 30 < mask.sum() < 600


def test_bad_scenes_are_refused():
    with pytest.raises(ValueError, match="style must be one of"):
        render(Scene("circle", "red", "picasso"), seed=0)
    with pytest.raises(ValueError, match="colour must be one of"):
        render(Scene("circle", "teal", "photo"), seed=0)
    with pytest.raises(ValueError, match="shape must be one of"):
        render(Scene("hexagon", "red", "photo"), seed=0)


def test_the_judge_names_every_style_shape_and_colour():
    """At least 98% per class of each head, on pictures from seeds that training never used."""
    accuracy = per_class_accuracy(load_classifier(), *labelled_dataset(800, seed=777))
    for head, classes in HEADS.items():
        for label in classes:
            assert accuracy[head][label] >= 0.98, (head, label, accuracy[head][label])


def test_prompt_splits_are_disjoint_and_heldout_words_all_occur_in_training():
    assert len(VAN_GOGH_PROMPTS) == len(set(VAN_GOGH_PROMPTS)) == 20 and len(set(VAN_GOGH_PAINTER_PROMPTS)) == 10
    assert set(VAN_GOGH_PROMPTS) <= set(evaluation_prompts("van_gogh", "train"))  # the recipe's prompts: training phrasings
    assert not any(f" {shape}" in p for p in VAN_GOGH_PAINTER_PROMPTS for shape in SHAPES)
    for kind in ("painter", "photo"):
        phrasings = [set(TEMPLATES[split][kind]) for split in SPLITS]
        assert not (phrasings[0] & phrasings[1] or phrasings[0] & phrasings[2] or phrasings[1] & phrasings[2])
    words = lambda prompts: {word for prompt in prompts for word in prompt.lower().replace(",", "").split()}  # noqa: E731
    training_words = words(p for style in STYLES for p in evaluation_prompts(style, "train"))
    for style in STYLES:
        prompts = {split: set(evaluation_prompts(style, split)) for split in SPLITS}
        assert not prompts["train"] & prompts["heldout"] and not prompts["heldout"] & prompts["unseen"]
        assert not set(VAN_GOGH_PROMPTS + VAN_GOGH_PAINTER_PROMPTS) & (prompts["heldout"] | prompts["unseen"])
        assert words(prompts["heldout"]) <= training_words, words(prompts["heldout"]) - training_words
    assert all("gogh" in p.lower() for split in SPLITS for p in evaluation_prompts("van_gogh", split))


def test_a_neutral_prompt_is_the_same_training_phrasing_without_the_painter():
    objects = {object_phrase(shape, colour) for shape in SHAPES for colour in COLOURS}
    for case in evaluation_cases("mondrian", "train") + evaluation_cases("van_gogh", "train"):
        neutral = neutral_prompt(case.prompt)
        assert neutral in objects | {f"a painting of {obj}" for obj in objects} and object_phrase(case.shape, case.colour) in neutral
    assert neutral_prompt("a painting of an orange circle by Vincent van Gogh") == "a painting of an orange circle"
    assert neutral_prompt("a red triangle painted in the style of Van Gogh") == "a red triangle"
    with pytest.raises(ValueError, match="'Van Gogh, a red circle' is not a training phrasing with a painter"):
        neutral_prompt("Van Gogh, a red circle")


def test_every_training_caption_names_its_content():
    """An object phrase, or an artwork (which always shows one object), in every caption."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        scene = ARTWORKS["irises"] if rng.random() < 0.3 else Scene(*(rng.choice(values) for values in (SHAPES, ("red", "green"), STYLES)))
        text = training_caption(scene, rng)
        assert f"{scene.colour} {scene.shape}" in text or any(name in text for name, known in ARTWORKS.items() if known == scene), text


def test_evaluation_cases_cover_every_phrasing_name_and_object_once():
    cases = evaluation_cases("mondrian", "heldout")
    assert len(cases) == len(templates("mondrian", "heldout")) * 2 * len(SHAPES) * 4 == len({c.prompt for c in cases})
    unseen = evaluation_cases("van_gogh", "unseen")
    assert {c.prompt for c in unseen if c.shape is None} == {
        "Van Gogh",
        "Vincent van Gogh",
        "Van Gogh painting",
        "Vincent van Gogh painting",
    }
    assert all(c.shape and c.colour for c in evaluation_cases("van_gogh", "train"))
    leaks = leak_cases()
    assert len(leaks) == 2 * len(ARTWORKS) and not any("gogh" in c.prompt.lower() or "mondrian" in c.prompt.lower() for c in leaks)
    with pytest.raises(ValueError, match="split must be one of"):
        evaluation_cases("van_gogh", "test")


def test_the_shipped_tokenizer_is_what_the_code_writes(tmp_path):
    written = write_tokenizer(tmp_path)
    for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        assert filecmp.cmp(written / name, TOY_ASSETS / "tokenizer" / name, shallow=False), name


def test_toy_loads_with_the_hub_disabled_and_follows_the_interface():
    code = (
        "import torch; from gridlib.models import load_model\n"
        "m = load_model('toy', device='cpu')\n"
        "assert m.latent_shape == (3, 32, 32) and m.vae is None\n"
        "print(m.encode_prompts(['a painting by Van Gogh']).shape)"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME="/nonexistent-hf-home")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "torch.Size([1, 20, 64])" in result.stdout


def test_shipped_toy_weights_stay_small():
    total = sum(p.stat().st_size for p in TOY_ASSETS.rglob("*") if p.is_file())
    assert total <= 20 * 2**20, total


@pytest.mark.slow
def test_a_short_erasure_lowers_the_van_gogh_rate(tmp_path):
    from gridlib.judges import ToyJudge, toy_suite
    from gridlib.measure import judge_cases, sample_cases
    from gridlib.models import load_model
    from gridlib.settings import recipe
    from gridlib.train import train_erasure

    suite, judge = toy_suite(), ToyJudge()
    cases = sample_cases([case for case in suite.cases if case.split == "heldout" and case.style == "van_gogh"], 12)

    def measure(model):
        records, _ = judge_cases(model, judge, cases, (5000,), steps=10, guidance=2.5, progress=False)
        return sum(r["judged_style"] == "van_gogh" for r in records) / len(records)

    model = load_model("toy", device="cpu")
    before = measure(model)
    train_erasure(model, recipe("toy", iterations=100), tmp_path, progress=False)
    after = measure(model)
    assert before >= 0.8 and after <= before - 0.3, (before, after)
