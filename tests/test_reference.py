import pytest
import torch

from gridlib.models import load_model
from gridlib.reference import ReferenceTrainer
from gridlib.train import Trainer, recipe


@pytest.mark.parametrize("source", ["noise", "sample"])
@pytest.mark.parametrize("sampler", ["trained", "frozen"])
def test_gridlib_and_the_reference_compute_the_same_losses(source, sampler):
    config = recipe("tiny", iterations=3, ddim_steps=5, lr=1e-3, xt_source=source, sampler=sampler)
    ours = Trainer(load_model("tiny", device="cpu"), config)
    theirs = ReferenceTrainer(load_model("tiny", device="cpu"), config)
    for _ in range(3):
        assert ours.step() == pytest.approx(theirs.step(), rel=1e-5)
    for (name, a), (_, b) in zip(ours.named, theirs.named):
        assert torch.allclose(a, b, atol=0.1 * config.lr), name  # Adam turns rounding noise into up-to-lr steps
