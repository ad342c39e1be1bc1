import copy

import pytest
import torch
from diffusers import UNet2DConditionModel

from gridlib.esd import esd_target, frozen_predictions, masked_mse, trainable_parameters, weighted_mse
from gridlib.masks import feather, grid3_center_masks, grid_masks, loss_weight_map, multiscale_masks
from gridlib.models import sd14_unet_config
from gridlib.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def sd14_unet():
    """SD1.4's UNet architecture on the meta device: real names and shapes, no memory."""
    with torch.device("meta"):
        return UNet2DConditionModel(**sd14_unet_config())


def test_sd14_xattn_is_80_tensors_and_43962560_scalars(sd14_unet):
    named = trainable_parameters(sd14_unet, "xattn")
    assert len(named) == 80
    assert sum(p.numel() for _, p in named) == 43_962_560
    blocks = {name.split(".attn2.")[0] for name, _ in named}
    assert len(blocks) == 16  # 16 cross-attention transformer blocks, 5 tensors each
    assert sum(p.numel() for p in sd14_unet.parameters()) == 859_520_964


def test_methods_split_the_unet(sd14_unet):
    everything = dict(trainable_parameters(sd14_unet, "full"))
    xattn = dict(trainable_parameters(sd14_unet, "xattn"))
    noxattn = dict(trainable_parameters(sd14_unet, "noxattn"))
    assert len(everything) == len(list(sd14_unet.parameters()))
    assert not set(xattn) & set(noxattn)
    assert not any("time_embedding" in n or n.startswith("conv_out") for n in noxattn)


def test_unknown_method_is_refused(sd14_unet):
    with pytest.raises(ValueError, match=r"method must be one of \('xattn', 'noxattn', 'full'\), got 'attn'"):
        trainable_parameters(sd14_unet, "attn")


def test_esd_target_formula_and_the_two_conventions():
    concept, empty = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    assert torch.allclose(esd_target(concept, empty, 1.0), 2 * empty - concept)
    assert torch.equal(esd_target(concept, empty, 0.0), empty)
    # esd_sd.py's concept-anchored target with eta equals the paper's with eta - 1
    assert torch.allclose(esd_target(concept, empty, 2.0, "concept"), esd_target(concept, empty, 1.0, "uncond"), atol=1e-6)
    with pytest.raises(ValueError, match="anchor must be one of"):
        esd_target(concept, empty, 1.0, "empty")


@pytest.mark.parametrize(
    "masks",
    [
        grid3_center_masks(64, 64),
        grid_masks(64, 64, 1, 1),
        grid_masks(64, 64, 7, 5),
        multiscale_masks(64, 64),
        feather(grid3_center_masks(64, 64), 3.0),
    ],
    ids=["grid3_center", "none", "7x5", "multiscale", "feathered"],
)
def test_masked_losses_at_one_xt_are_one_weighted_mse(masks):
    torch.manual_seed(0)
    prediction, target = torch.randn(2, 4, 64, 64, dtype=torch.float64), torch.randn(2, 4, 64, 64, dtype=torch.float64)
    expected = masked_mse(prediction, target, masks.double())
    actual = weighted_mse(prediction, target, loss_weight_map(masks.double()))
    assert torch.allclose(expected, actual, rtol=1e-12)


def test_gradients_agree_too():
    masks = grid3_center_masks(16, 16)
    prediction = torch.randn(1, 4, 16, 16, dtype=torch.float64, requires_grad=True)
    target = torch.randn(1, 4, 16, 16, dtype=torch.float64)
    (grad_masked,) = torch.autograd.grad(masked_mse(prediction, target, masks.double()), prediction)
    (grad_weighted,) = torch.autograd.grad(weighted_mse(prediction, target, loss_weight_map(masks.double())), prediction)
    assert torch.allclose(grad_masked, grad_weighted, rtol=1e-12)


def test_an_equal_area_grid_alone_is_the_plain_mse():
    prediction, target = torch.randn(1, 4, 63, 63), torch.randn(1, 4, 63, 63)
    plain = torch.nn.functional.mse_loss(prediction, target)
    assert torch.allclose(weighted_mse(prediction, target, loss_weight_map(grid_masks(63, 63, 3, 3))), plain, rtol=1e-5)


def _inputs(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x_t = torch.randn((1, *model.latent_shape), generator=generator)
    t = torch.tensor([500])
    return x_t, t, model.encode_prompts(["a painting by Van Gogh"]), model.encode_prompts([""])


def test_frozen_predictions_match_an_untouched_copy_before_and_after_training(tiny):
    untouched = copy.deepcopy(tiny.unet)
    trainer = Trainer(tiny, TrainConfig(iterations=3, lr=1e-2, ddim_steps=4))
    x_t, t, concept, empty = _inputs(tiny)
    with torch.no_grad():
        reference = untouched(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([concept, empty])).sample.chunk(2)
    for _ in range(2):
        eps_concept, eps_anchor = frozen_predictions(tiny.unet, trainer.frozen, x_t, t, concept, empty)
        assert torch.equal(eps_concept, reference[0]) and torch.equal(eps_anchor, reference[1])
        trainer.step()
    with torch.no_grad():
        assert not torch.equal(tiny.unet(x_t, t, concept).sample, reference[0])  # the live model did change


def test_one_step_changes_only_the_trained_tensors(tiny):
    before = {name: t.clone() for name, t in tiny.unet.state_dict().items()}
    text_before = {name: t.clone() for name, t in tiny.text_encoder.state_dict().items()}
    trainer = Trainer(tiny, TrainConfig(iterations=1, lr=1e-3, ddim_steps=4))
    trainer.step()
    trained = {name for name, _ in trainer.named}
    assert len(trained) > 0 and all(".attn2." in name for name in trained)
    for name, tensor in tiny.unet.state_dict().items():
        if name in trained:
            assert not torch.equal(tensor, before[name]), name
        else:
            assert torch.equal(tensor, before[name]), name
    assert all(torch.equal(t, text_before[n]) for n, t in tiny.text_encoder.state_dict().items())
