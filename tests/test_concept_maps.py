import pytest
import torch

from gridlib.concept_maps import (
    adaptive_grid_signal,
    attention_signal,
    concept_signal,
    concept_token_mask,
    concept_weights,
    difference_signal,
    recording_cross_attention,
    sharpened,
    weight_summary,
)
from gridlib.masks import grid_masks
from gridlib.models import load_model
from gridlib.toyworld.prompts import VAN_GOGH_PROMPTS
from gridlib.train import TrainConfig, Trainer

QUICK = dict(prompts=list(VAN_GOGH_PROMPTS), iterations=6, lr=1e-3, xt_source="noise", masks="none", checkpoint_every=3)


def test_the_difference_map_is_where_the_concept_changes_the_prediction():
    eps_anchor = torch.zeros(2, 4, 8, 8)
    eps_concept = eps_anchor.clone()
    eps_concept[0, :, :2, :2] = 1.0  # example 0: the concept acts in the top-left corner
    eps_concept[1, :, 6:, 6:] = -1.0  # example 1: bottom-right, with the opposite sign
    signal = difference_signal(eps_concept, eps_anchor)
    assert signal.shape == (2, 1, 8, 8) and signal[0, 0, 0, 0] == 4.0 and signal[1, 0, 7, 7] == 4.0
    assert signal[0, 0, 7, 7] == 0.0 and signal[1, 0, 0, 0] == 0.0


def test_the_adaptive_grid_holds_each_cells_mean_and_moves_with_the_example():
    signal = torch.rand(2, 1, 9, 9)
    grid = adaptive_grid_signal(signal)
    cells = grid_masks(9, 9, 3, 3)
    for cell in cells:
        inside = cell[0] > 0
        for example in range(2):
            values = grid[example, 0][inside]
            assert torch.allclose(values, signal[example, 0][inside].mean().expand_as(values))
    assert not torch.equal(grid[0], grid[1])


@pytest.mark.parametrize("weighting", ["difference", "adaptive_grid"])
def test_concept_weights_sum_to_one_per_example_and_sharpen_towards_the_concept(weighting):
    eps_anchor, eps_concept = torch.zeros(3, 4, 12, 12), torch.zeros(3, 4, 12, 12)
    eps_concept[:, :, :4, :4] = 1.0
    eps_concept += 0.01 * torch.rand(eps_concept.shape, generator=torch.Generator().manual_seed(0))
    signal = concept_signal(weighting, eps_concept, eps_anchor)
    soft, sharp = (concept_weights(signal, s) for s in (1.0, 4.0))
    assert soft.shape == (3, 1, 12, 12) and torch.allclose(soft.sum(dim=(-2, -1)), torch.ones(3, 1))
    assert sharp[:, :, :4, :4].sum() > soft[:, :, :4, :4].sum()  # more of the loss where the concept acts
    uniform = concept_weights(signal, 0.0)
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / 144))
    assert torch.allclose(sharpened(torch.rand(2, 1, 5, 5), 2.0).mean(dim=(-2, -1)), torch.ones(2, 1))


def test_sharpness_zero_is_plain_esd_x_exactly():
    """The uniform end of the knob trains the same run as plain ESD-X (masks "none"), at the same cost."""

    def run(**config) -> Trainer:
        trainer = Trainer(load_model("tiny", device="cpu"), TrainConfig(**QUICK, **config))
        for _ in range(QUICK["iterations"]):
            trainer.step()
        return trainer

    plain = run()
    for weighting in ("difference", "attention"):
        uniform, concept = run(weighting=weighting, sharpness=0.0), run(weighting=weighting, sharpness=2.0)
        assert uniform.losses == pytest.approx(plain.losses, rel=1e-6)
        assert plain.unet_passes == uniform.unet_passes == concept.unet_passes  # the map costs no UNet pass
        assert concept.losses != pytest.approx(plain.losses, rel=1e-3)


def _unet_inputs(model, prompts):
    generator = torch.Generator().manual_seed(0)
    x_t = torch.randn((len(prompts), *model.latent_shape), generator=generator)
    return x_t, torch.tensor([500] * len(prompts)), model.encode_prompts(prompts)


def test_recording_cross_attention_leaves_the_output_unchanged_and_records_every_attn2_layer():
    model = load_model("tiny", device="cpu")
    inputs = _unet_inputs(model, ["a painting by Van Gogh", "a photo"])
    with torch.no_grad():
        plain = model.unet(*inputs).sample
        with recording_cross_attention(model.unet) as layers:
            recorded = model.unet(*inputs).sample
        after = model.unet(*inputs).sample
    assert torch.equal(plain, recorded) and torch.equal(plain, after)  # and the UNet's own processors are back
    attn2_layers = [name for name in model.unet.attn_processors if ".attn2." in name]
    assert len(layers) == len(attn2_layers) > 0
    tokens = model.tokenizer.model_max_length
    for probs in layers:
        assert probs.shape[0] == 2 and probs.shape[-1] == tokens
        assert torch.allclose(probs.sum(-1), torch.ones_like(probs[..., 0]), atol=1e-5)  # a distribution over tokens


def test_recording_only_the_first_rows_keeps_a_copy_of_exactly_those_rows():
    model = load_model("tiny", device="cpu")
    inputs = _unet_inputs(model, ["a painting by Van Gogh", "a photo"])
    with torch.no_grad(), recording_cross_attention(model.unet) as both, recording_cross_attention(model.unet, rows=1) as first:
        model.unet(*inputs)
    assert len(first) == len(both) and all(torch.equal(kept, full[:1]) for kept, full in zip(first, both, strict=True))
    assert all(kept.untyped_storage().nbytes() == kept.nelement() * kept.element_size() for kept in first)  # not a view of both rows


def test_the_concept_token_mask_marks_the_painters_name_only():
    tokenizer = load_model("tiny", device="cpu").tokenizer
    prompts = ["a painting by Van Gogh", "an orange circle by Vincent van Gogh"]
    mask = concept_token_mask(tokenizer, prompts)
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length).input_ids
    marked = [tokenizer.decode(row[keep]) for row, keep in zip(torch.tensor(ids), mask, strict=True)]
    assert [text.strip() for text in marked] == ["van gogh", "vincent van gogh"]  # not the "an" of "an orange"
    with pytest.raises(ValueError, match="needs a concept word"):
        concept_token_mask(tokenizer, ["a painting by Monet"])


def test_the_attention_signal_is_the_attention_on_the_concepts_tokens_resized_and_averaged():
    probs = torch.zeros(2, 3, 16, 5)  # (batch, heads, 4x4 pixels, tokens)
    probs[..., 0] = 1.0
    probs[0, :, 5, :] = torch.tensor([0.0, 0.5, 0.5, 0.0, 0.0])  # example 0, pixel (1, 1): half on token 1
    mask = torch.tensor([[False, True, False, False, False]])
    signal = attention_signal([probs, probs], mask, (4, 4))
    assert signal.shape == (1, 1, 4, 4) and signal[0, 0, 1, 1] == 0.5 and signal.sum() == 0.5  # only example 0


def test_attention_maps_are_the_frozen_models_however_far_training_went():
    """The recorded probabilities come from the frozen pass: training attn2 must not change them."""
    trainer = Trainer(load_model("tiny", device="cpu"), TrainConfig(**{**QUICK, "lr": 1e-2}, weighting="attention"))
    for _ in range(QUICK["iterations"]):
        trainer.step()
    fresh = load_model("tiny", device="cpu")
    inputs = _unet_inputs(fresh, ["a painting by Van Gogh"])
    with torch.no_grad(), recording_cross_attention(fresh.unet) as original:
        fresh.unet(*inputs)
    with torch.no_grad(), trainer.frozen.swapped_in(), recording_cross_attention(trainer.model.unet) as frozen:
        trainer.model.unet(*inputs)
    with torch.no_grad(), trainer.trained_in_model_dtype(), recording_cross_attention(trainer.model.unet) as trained:
        trainer.model.unet(*inputs)
    assert all(torch.equal(a, b) for a, b in zip(original, frozen, strict=True))
    assert not all(torch.allclose(a, b) for a, b in zip(original, trained, strict=True))  # training did change attn2


@pytest.mark.parametrize(
    "config, message",
    [
        (dict(weighting="cross_attention"), "weighting must be one of"),
        (dict(weighting="difference", masks="grid3_center"), "replaces the mask set's weight map: set masks='none'"),
        (dict(weighting="difference", masks="none", sharpness=-1.0), "sharpness must be a finite number >= 0"),
    ],
)
def test_bad_weightings_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**config).validate()


def test_weight_summary_reads_plain_weights_as_plain_and_a_spike_as_a_spike():
    plain = torch.full((2, 1, 10, 10), 1 / 100)
    assert weight_summary(plain) == pytest.approx({"lightest pixel": 1.0, "heaviest pixel": 1.0, "loss on the heaviest 10%": 0.1})
    spike = torch.zeros(1, 1, 10, 10)
    spike[0, 0, 3, 3] = 1.0
    assert weight_summary(spike) == pytest.approx({"lightest pixel": 0.0, "heaviest pixel": 100.0, "loss on the heaviest 10%": 1.0})
