import pytest
import torch

from gridlib.judges import ClipJudge, Judgement, ToyJudge, lpips_distance, sd_suite, toy_suite
from gridlib.measure import judge_cases, noise_seed, rates, sample_cases
from gridlib.offline import save_tiny_clip
from gridlib.prompts import NO_ARTIST, PHOTO, SD_VAN_GOGH_PROMPTS, PromptCase, judge_labels
from gridlib.sampling import generate


class Judge:
    """A judge made of a labelling function: styles only, no content, no features worth comparing."""

    def __init__(self, label):
        self.label = label

    def describe(self, images):
        styles = self.label(images)
        return Judgement(styles, [None] * len(styles), [None] * len(styles), torch.zeros(len(styles), 1))


@pytest.fixture(scope="module")
def tiny_clip_judge(tmp_path_factory):
    """CLIP zero-shot with a tiny random CLIP read from a folder: the SD judge's code path, offline."""
    return ClipJudge.from_pretrained(str(save_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")), device="cpu")


def test_the_sd_suite_measures_van_gogh_six_artists_and_photos_with_held_out_phrasings():
    suite = sd_suite()
    assert suite.target == "Vincent van Gogh" and suite.styles[0] == suite.target and suite.styles[-1] == PHOTO
    assert {"Pablo Picasso", "Rembrandt", "Andy Warhol", "Caravaggio"} <= set(suite.styles) and len(suite.styles) == 8
    assert set(suite.train_prompts) == set(suite.heldout_prompts) == set(suite.styles) == set(judge_labels()) - set(NO_ARTIST)
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
    """Generation, VAE decoding and CLIP judging end to end: a record per image, the judge's own label in it."""
    suite = sd_suite()
    cases = sample_cases([case for case in suite.cases if case.split == "heldout" and case.style in suite.styles[:2]], 3)
    records, features = judge_cases(tiny, tiny_clip_judge, cases, (5000,), steps=2, guidance=7.5, batch_size=2, progress=False)
    images = generate(tiny, [c.prompt for c in cases], [noise_seed(c.prompt, 5000) for c in cases], steps=2, guidance=7.5, progress=False)
    assert [r["judged_style"] for r in records] == tiny_clip_judge(images) and len(features) == len(cases) == 6
    assert all(r["shape_ok"] is None for r in records)  # CLIP does not check content


def test_generation_memory_does_not_grow_with_the_number_of_images(tiny, monkeypatch):
    """judge_cases denoises `batch_size` images at a time and the VAE decodes one image at a time."""
    unet_batches, decode_batches = [], []
    unet_forward, vae_decode = tiny.unet.forward, tiny.vae._decode
    monkeypatch.setattr(tiny.unet, "forward", lambda x, *a, **k: unet_batches.append(len(x)) or unet_forward(x, *a, **k))
    monkeypatch.setattr(tiny.vae, "_decode", lambda z, *a, **k: decode_batches.append(len(z)) or vae_decode(z, *a, **k))
    cases = [PromptCase(f"x {i}", "a", "heldout", "{obj}") for i in range(9)]
    judge = Judge(lambda images: ["a"] * len(images))
    judge_cases(tiny, judge, cases, (0,), steps=1, guidance=2.0, batch_size=4, progress=False)
    assert max(unet_batches) == 8 and max(decode_batches) == 1  # 4 images, guided: 8 rows


def test_toy_suite_asks_for_content_on_every_split():
    from gridlib.toyworld.prompts import evaluation_prompts

    suite = toy_suite()
    assert suite.train_prompts["van_gogh"] == evaluation_prompts("van_gogh", "train") and len(suite.styles) == 4
    assert suite.splits == ("train", "heldout", "unseen")
    with pytest.raises(ValueError, match="split must be one of"):
        suite.prompts("test")


def test_lpips_is_skipped_quietly_where_it_cannot_load(capsys):
    """LPIPS is optional: without it the distance is None and nothing is printed (the chapter says so in prose)."""
    try:
        import lpips  # noqa: F401
    except ImportError:
        assert lpips_distance(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)) is None
        assert capsys.readouterr() == ("", "")
    else:
        pytest.skip("lpips is installed here")


def test_the_clip_judge_can_say_no_artist_without_naming_another(tiny_clip_judge, monkeypatch):
    """An image closest to "a painting" is judged as no listed artist: Van Gogh's prompt then counts as erased."""
    labels = judge_labels()
    assert labels[PHOTO] == "a photograph" and set(NO_ARTIST.values()) == {"a painting", "an artwork"} and len(labels) == 10
    judge = ClipJudge(tiny_clip_judge.model, tiny_clip_judge.processor, labels)
    judge.text_features = torch.eye(len(labels))  # each label's text is one axis; an image's features pick its label
    nearest = [judge.labels.index("a painting, no artist named"), judge.labels.index("Vincent van Gogh")]
    monkeypatch.setattr(judge, "embed", lambda images: torch.eye(len(labels))[nearest])
    seen = judge.describe(torch.rand(2, 3, 32, 32))
    assert seen.styles == ["a painting, no artist named", "Vincent van Gogh"]
    records = [{"style": "Vincent van Gogh", "judged_style": style, "shape_ok": None, "colour_ok": None} for style in seen.styles]
    (row,) = rates([{**r, "split": "heldout"} for r in records])
    assert row["style_match"] == (1, 2)  # only the image CLIP calls his counts as Van Gogh left
