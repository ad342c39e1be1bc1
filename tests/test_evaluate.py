import pytest
import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

from gridlib.evaluate import (
    ClipJudge, compare_models, erasure_table, lpips_distance, markdown_table, sd_suite, style_rates, toy_suite,
)  # fmt: skip
from gridlib.models import TOY_ASSETS


@pytest.fixture(scope="module")
def tiny_clip_judge():
    """CLIP zero-shot with a tiny random CLIP: the SD judge's code path, offline."""
    torch.manual_seed(0)
    tokenizer = CLIPTokenizer.from_pretrained(TOY_ASSETS / "tokenizer")
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=tokenizer.model_max_length),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        projection_dim=16,
    )  # fmt: skip
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}), tokenizer=tokenizer)
    return ClipJudge(CLIPModel(config), processor, artists=sd_suite().styles)


def test_the_sd_suite_has_six_artists_van_gogh_first():
    suite = sd_suite()
    assert len(suite.styles) >= 6 and suite.target == "Vincent van Gogh"
    assert set(suite.train_prompts) == set(suite.heldout_prompts) == set(suite.styles)
    assert not set(suite.train_prompts[suite.target]) & set(suite.heldout_prompts[suite.target])


def test_clip_judge_names_one_artist_per_image(tiny_clip_judge):
    labels = tiny_clip_judge(torch.rand(5, 3, 32, 32))
    assert len(labels) == 5 and set(labels) <= set(sd_suite().styles)


def test_the_sd_evaluation_path_runs_on_tiny_models(tiny, tiny_clip_judge):
    suite = sd_suite()
    prompts = {artist: suite.heldout_prompts[artist][:2] for artist in suite.styles[:2]}
    rates = style_rates(tiny, tiny_clip_judge, prompts, samples_per_style=2, steps=2, progress=False)
    assert set(rates) == set(prompts) and all(rate in (0.0, 0.5, 1.0) for rate in rates.values())


def test_style_rates_count_the_judges_agreement(tiny):
    judge = lambda images: ["van_gogh"] * (len(images) - 1) + ["photo"]  # noqa: E731
    rates = style_rates(tiny, judge, {"van_gogh": ["a"], "photo": ["b"]}, samples_per_style=4, steps=2, progress=False)
    assert rates == {"van_gogh": 0.75, "photo": 0.25}
    with pytest.raises(ValueError, match="samples_per_style must be a positive integer"):
        style_rates(tiny, judge, {"photo": ["b"]}, samples_per_style=0)


def test_erasure_table_and_markdown():
    before = {"heldout": {"van_gogh": 1.0, "photo": 0.9}}
    after = {"heldout": {"van_gogh": 0.05, "photo": 0.875}}
    rows = erasure_table(before, after, "van_gogh")
    assert rows[0]["role"] == "erased" and rows[0]["change_points"] == -95.0 and rows[1]["change_points"] == -2.5
    table = markdown_table(rows, percent=("before", "after"))
    assert "| heldout | van_gogh | erased | 100.0% | 5.0% | -95.0 |" in table
    assert "| heldout | photo | preserved | 90.0% | 87.5% | -2.5 |" in table


def test_toy_suite_uses_the_erasure_prompts_for_training():
    from gridlib.toyworld.prompts import VAN_GOGH_PROMPTS

    suite = toy_suite()
    assert suite.train_prompts["van_gogh"] == list(VAN_GOGH_PROMPTS) and len(suite.styles) == 4
    with pytest.raises(ValueError, match="split must be 'train' or 'heldout'"):
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
    suite = sd_suite(("van_gogh", "photo"))
    rows = compare_models(tiny, tiny, judge, suite, samples_per_style=3, steps=2)
    assert [(row["split"], row["style"]) for row in rows] == [(s, a) for s in ("train", "heldout") for a in ("van_gogh", "photo")]
    assert all(row["change_points"] == 0 and row["before"] == row["after"] for row in rows)
