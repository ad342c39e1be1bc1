from dataclasses import replace

import pytest
import torch

from gridlib.models import load_model
from gridlib.reference import ReferenceTrainer
from gridlib.settings import recipe
from gridlib.train import Trainer

ROUTES = [("noise", "trained", "recipe"), ("noise", "trained", None), ("sample", "trained", "recipe"), ("sample", "frozen", None)]


@pytest.mark.parametrize("source, sampler, neutral", [*ROUTES, ("noise", "frozen", "recipe")])
def test_gridlib_and_the_reference_compute_the_same_losses(source, sampler, neutral):
    """On every x_t route, with the toy recipe's neutral prompts and with ESD's empty prompt."""
    config = recipe("tiny", iterations=3, ddim_steps=5, lr=1e-3, xt_source=source, sampler=sampler)
    config = config if neutral == "recipe" else replace(config, neutral_prompts=None)
    ours = Trainer(load_model("tiny", device="cpu"), config)
    theirs = ReferenceTrainer(load_model("tiny", device="cpu"), config)
    for _ in range(3):
        assert ours.step() == pytest.approx(theirs.step(), rel=1e-5)
        for (name, a), (_, b) in zip(ours.named, theirs.named, strict=True):  # each step's gradients, before Adam rescales them
            assert torch.allclose(a.grad, b.grad, rtol=1e-3, atol=1e-4 * b.grad.abs().max()), name
    for (name, a), (_, b) in zip(ours.named, theirs.named, strict=True):
        # Adam can turn rounding noise in a near-zero gradient into a step of up to lr: rare, so compare the mean
        assert (a - b).abs().mean() < 0.01 * config.lr, name


@pytest.mark.parametrize("all_gradients", [True, False])
def test_the_reference_computes_gradients_for_every_weight_as_esd_sd_does(all_gradients):
    config = recipe("tiny", iterations=1, xt_source="noise")
    trainer = ReferenceTrainer(load_model("tiny", device="cpu"), config, all_gradients=all_gradients)
    trainer.step()
    with_gradient = {name for name, p in trainer.model.unet.named_parameters() if p.grad is not None}
    every_weight = {name for name, _ in trainer.model.unet.named_parameters()}
    assert with_gradient == (every_weight if all_gradients else {name for name, _ in trainer.named})


@pytest.mark.parametrize("source", ["noise", "sample"])
def test_the_reference_trains_on_the_same_noise_levels(source):
    """ESD's every level and the cleaner half: the reference draws its steps from the range the Trainer does."""
    for levels in ([0.0, 1.0], [0.0, 0.5]):
        config = recipe("tiny", iterations=2, ddim_steps=5, xt_source=source, noise_levels=levels)
        ours = Trainer(load_model("tiny", device="cpu"), config)
        theirs = ReferenceTrainer(load_model("tiny", device="cpu"), config)
        assert theirs.step_bounds == ours.step_bounds
        for _ in range(2):
            assert ours.step() == pytest.approx(theirs.step(), rel=1e-5), levels
