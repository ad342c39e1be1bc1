import pytest
import torch

from gridlib.concept_maps import adaptive_grid_signal, concept_weights, difference_signal, sharpened
from gridlib.masks import grid_masks
from gridlib.models import load_model
from gridlib.train import TrainConfig, Trainer

QUICK = dict(iterations=6, lr=1e-3, xt_source="noise", masks="full", checkpoint_every=3)


def test_the_difference_map_is_where_the_concept_changes_the_prediction():
    eps_empty = torch.zeros(2, 4, 8, 8)
    eps_concept = eps_empty.clone()
    eps_concept[0, :, :2, :2] = 1.0  # example 0: the concept acts in the top-left corner
    eps_concept[1, :, 6:, 6:] = -1.0  # example 1: bottom-right, with the opposite sign
    signal = difference_signal(eps_concept, eps_empty)
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
    eps_empty, eps_concept = torch.zeros(3, 4, 12, 12), torch.zeros(3, 4, 12, 12)
    eps_concept[:, :, :4, :4] = 1.0
    eps_concept += 0.01 * torch.rand_like(eps_concept)
    soft, sharp = (concept_weights(weighting, s, eps_concept, eps_empty) for s in (1.0, 4.0))
    assert soft.shape == (3, 1, 12, 12) and torch.allclose(soft.sum(dim=(-2, -1)), torch.ones(3, 1))
    assert sharp[:, :, :4, :4].sum() > soft[:, :, :4, :4].sum()  # more of the loss where the concept acts
    uniform = concept_weights(weighting, 0.0, eps_concept, eps_empty)
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / 144))
    assert torch.allclose(sharpened(torch.rand(2, 1, 5, 5), 2.0).mean(dim=(-2, -1)), torch.ones(2, 1))


def test_sharpness_zero_is_plain_esd_x_exactly():
    """The uniform end of the knob trains the same run as plain ESD-X (masks "full"), at the same cost."""

    def run(**config) -> Trainer:
        trainer = Trainer(load_model("tiny", device="cpu"), TrainConfig(**QUICK, **config))
        for _ in range(QUICK["iterations"]):
            trainer.step()
        return trainer

    plain, uniform, concept = run(), run(weighting="difference", sharpness=0.0), run(weighting="difference", sharpness=2.0)
    assert uniform.losses == pytest.approx(plain.losses, rel=1e-6)
    assert plain.unet_passes == uniform.unet_passes == concept.unet_passes  # the map costs no UNet pass
    assert concept.losses != pytest.approx(plain.losses, rel=1e-3)


@pytest.mark.parametrize(
    "config, message",
    [
        (dict(weighting="attention"), "weighting must be one of"),
        (dict(weighting="difference", masks="grid3_center"), "replaces the mask set's weight map: set masks='full'"),
        (dict(weighting="difference", masks="full", sharpness=-1.0), "sharpness must be a finite number >= 0"),
    ],
)
def test_bad_weightings_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**config).validate()
