import pytest
import torch

from gridlib.evaluate import (
    ClipJudge,
    StyleSuite,
    ToyJudge,
    compare_models,
    erasure_table,
    lpips_distance,
    sd_suite,
    spread,
    style_rates,
    toy_suite,
)
from gridlib.offline import save_tiny_clip
from gridlib.prompts import PHOTO, SD_VAN_GOGH_PROMPTS, PromptCase, judge_labels
from gridlib.report import markdown_table
from gridlib.sampling import generate


@pytest.fixture(scope="module")
def tiny_clip_judge(tmp_path_factory):
    """CLIP zero-shot with a tiny random CLIP read from a folder: the SD judge's code path, offline."""
    return ClipJudge.from_pretrained(str(save_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")), device="cpu")


def test_the_sd_suite_measures_van_gogh_six_artists_and_photos_with_held_out_phrasings():
    suite = sd_suite()
    assert suite.target == "Vincent van Gogh" and suite.styles[0] == suite.target and suite.styles[-1] == PHOTO
    assert {"Pablo Picasso", "Rembrandt", "Andy Warhol", "Caravaggio"} <= set(suite.styles) and len(suite.styles) == 8
    assert set(suite.train_prompts) == set(suite.heldout_prompts) == set(suite.styles) == set(judge_labels())
    assert suite.train_prompts[suite.target] == list(SD_VAN_GOGH_PROMPTS) and len(SD_VAN_GOGH_PROMPTS) == 20
    for style in suite.styles:
        assert not set(suite.train_prompts[style]) & set(suite.heldout_prompts[style])
        assert len(suite.heldout_prompts[style]) == 12 and len(set(suite.heldout_prompts[style])) == 12
    assert all(
        "Van Gogh" not in prompt and "van Gogh" not in prompt
        for style in suite.styles[1:]
        for prompt in suite.heldout_prompts[style] + suite.train_prompts[style]
    )


def test_the_sd_training_prompts_name_his_artworks_and_periods():
    text = " ".join(SD_VAN_GOGH_PROMPTS)
    for name in ("The Starry Night", "Sunflowers", "Wheatfield with Crows", "Irises", "The Potato Eaters", "Arles", "Nuenen", "Saint-Remy"):
        assert name in text


def test_clip_judge_names_one_label_per_image_in_bounded_batches(tiny_clip_judge, monkeypatch):
    seen = []
    original = tiny_clip_judge.model.get_image_features
    monkeypatch.setattr(tiny_clip_judge.model, "get_image_features", lambda **kw: seen.append(len(kw["pixel_values"])) or original(**kw))
    labels = tiny_clip_judge(torch.rand(37, 3, 32, 32))
    assert len(labels) == 37 and set(labels) <= set(judge_labels())
    assert seen == [16, 16, 5]  # JUDGE_BATCH images per pass, whatever the count


def test_clip_judge_describes_images_in_one_pass_that_agrees_with_its_labels(tiny_clip_judge, monkeypatch):
    images, seen = torch.rand(20, 3, 32, 32), []
    original = tiny_clip_judge.model.get_image_features
    monkeypatch.setattr(tiny_clip_judge.model, "get_image_features", lambda **kw: seen.append(len(kw["pixel_values"])) or original(**kw))
    judgement = tiny_clip_judge.describe(images)
    assert sum(seen) == 20  # every image through CLIP once: labels and features come from the same pass
    assert judgement.styles == tiny_clip_judge(images) and judgement.shapes == judgement.colours == [None] * 20
    assert torch.allclose(judgement.features, tiny_clip_judge.embed(images))


def test_the_toy_judge_describes_style_shape_colour_and_features_as_its_classifier_sees_them():
    judge, images = ToyJudge(), torch.rand(12, 3, 32, 32)
    judgement = judge.describe(images)
    with torch.no_grad():
        logits, features = judge.classifier(images), judge.classifier.embed(images)
    for head, names in (("style", judgement.styles), ("shape", judgement.shapes), ("colour", judgement.colours)):
        assert names == [judge.heads[head][i] for i in logits[head].argmax(dim=1)]
    assert torch.allclose(judgement.features, features) and judge(images) == judgement.styles


def test_clip_judge_needs_two_labels(tiny_clip_judge):
    with pytest.raises(ValueError, match="at least 2 labels"):
        ClipJudge(tiny_clip_judge.model, tiny_clip_judge.processor, {"photo": "a photograph"})


def test_the_sd_evaluation_path_runs_on_tiny_models(tiny, tiny_clip_judge):
    """Generation, VAE decoding and CLIP judging end to end; the rate is the judge's agreement, counted."""
    suite = sd_suite()
    prompts = {style: suite.heldout_prompts[style] for style in suite.styles[:2]}
    rates = style_rates(tiny, tiny_clip_judge, prompts, samples_per_style=3, steps=2, progress=False, batch_size=2)
    images = torch.cat([generate(tiny, spread(prompts[style], 3), [5000, 5001, 5002], steps=2, progress=False) for style in prompts])
    labels = tiny_clip_judge(images)
    expected = {style: sum(label == style for label in labels[3 * i : 3 * i + 3]) / 3 for i, style in enumerate(prompts)}
    assert rates == expected


def test_spread_covers_every_prompt_evenly_and_never_takes_a_prefix():
    prompts = [f"p{i}" for i in range(10)]
    assert spread(prompts, 4) == ["p0", "p2", "p5", "p7"]
    assert sorted(spread(prompts, 25).count(p) for p in prompts) == [2] * 5 + [3] * 5
    assert spread(prompts, 10) == prompts


def test_generation_memory_does_not_grow_with_the_number_of_images(tiny, monkeypatch):
    """style_rates denoises `batch_size` images at a time and the VAE decodes one image at a time."""
    unet_batches, decode_batches = [], []
    unet_forward, vae_decode = tiny.unet.forward, tiny.vae._decode
    monkeypatch.setattr(tiny.unet, "forward", lambda x, *a, **k: unet_batches.append(len(x)) or unet_forward(x, *a, **k))
    monkeypatch.setattr(tiny.vae, "_decode", lambda z, *a, **k: decode_batches.append(len(z)) or vae_decode(z, *a, **k))
    style_rates(tiny, lambda images: ["a"] * len(images), {"a": ["x"]}, samples_per_style=9, steps=1, progress=False, batch_size=4)
    assert max(unet_batches) == 8 and max(decode_batches) == 1  # 4 images, guided: 8 rows


def test_style_rates_count_the_judges_agreement(tiny):
    judge = lambda images: ["van_gogh"] * (len(images) - 1) + ["photo"]  # noqa: E731
    rates = style_rates(tiny, judge, {"van_gogh": ["a"], "photo": ["b"]}, samples_per_style=4, steps=2, progress=False)
    assert rates == {"van_gogh": 0.75, "photo": 0.25}
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="samples_per_style must be a positive integer"):
            style_rates(tiny, judge, {"photo": ["b"]}, samples_per_style=bad)


def test_erasure_table_and_markdown():
    before = {"heldout": {"van_gogh": 1.0, "photo": 0.9}}
    after = {"heldout": {"van_gogh": 0.05, "photo": 0.875}}
    rows = erasure_table(before, after, "van_gogh")
    assert rows[0]["role"] == "erased" and rows[0]["change_points"] == -95.0 and rows[1]["change_points"] == -2.5
    table = markdown_table(rows, percent=("before", "after"))
    assert "| heldout | van_gogh | erased | 100.0% | 5.0% | -95.0 |" in table
    assert "| heldout | photo | preserved | 90.0% | 87.5% | -2.5 |" in table


def test_toy_suite_asks_for_content_on_every_split():
    from gridlib.toyworld.prompts import evaluation_prompts

    suite = toy_suite()
    assert suite.train_prompts["van_gogh"] == evaluation_prompts("van_gogh", "train") and len(suite.styles) == 4
    assert suite.splits == ("train", "heldout", "unseen")
    with pytest.raises(ValueError, match="split must be one of"):
        suite.prompts("test")


def test_lpips_is_skipped_with_a_message_where_it_cannot_load(capsys):
    try:
        import lpips  # noqa: F401
    except ImportError:
        assert lpips_distance(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)) is None
        assert "LPIPS skipped" in capsys.readouterr().out
    else:
        pytest.skip("lpips is installed here")


def test_compare_models_uses_the_same_seeds_for_both_models(tiny):
    """The same model compared with itself changes by exactly 0 points; each split and style gets a row."""
    judge = lambda images: ["van_gogh" if image.mean() > 0.5 else "photo" for image in images]  # noqa: E731
    cases = [
        PromptCase(p, style, split, "{obj}")
        for p, style, split in (
            ("a", "van_gogh", "train"),
            ("b", "photo", "train"),
            ("c", "van_gogh", "heldout"),
            ("d", "photo", "heldout"),
        )
    ]
    suite = StyleSuite(("van_gogh", "photo"), "van_gogh", cases)
    rows = compare_models(tiny, tiny, judge, suite, samples_per_style=3, steps=2)
    assert [(row["split"], row["style"]) for row in rows] == [(s, a) for s in ("train", "heldout") for a in ("van_gogh", "photo")]
    assert all(row["change_points"] == 0 and row["before"] == row["after"] for row in rows)
