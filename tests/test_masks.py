import re

import pytest
import torch

from gridlib.masks import (
    MASK_SETS,
    center_mask,
    coverage,
    feather,
    grid3_center_masks,
    grid_masks,
    loss_weight_map,
    mask_set,
    multiscale_masks,
    weight_range,
)

SIZES = [(64, 64, 3, 3), (64, 64, 7, 5), (64, 48, 1, 9), (10, 7, 3, 3), (5, 5, 5, 5), (64, 64, 64, 64), (33, 17, 4, 6), (1, 9, 1, 9)]


@pytest.mark.parametrize("height,width,rows,cols", SIZES)
def test_grid_cells_partition_the_plane(height, width, rows, cols):
    masks = grid_masks(height, width, rows, cols)
    assert masks.shape == (rows * cols, 1, height, width)
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(coverage(masks), torch.ones(height, width))  # every pixel in exactly one cell
    areas = masks.sum(dim=(1, 2, 3))
    assert areas.min() > 0
    # near-equal cells: at most one extra row and one extra column of pixels
    assert areas.max() - areas.min() <= (height // rows + 1) + (width // cols + 1)


def test_grid_cells_are_in_row_major_order():
    masks = grid_masks(64, 64, 3, 3)
    assert masks[0, 0, 0, 0] == 1 and masks[2, 0, 0, 63] == 1 and masks[6, 0, 63, 0] == 1 and masks[8, 0, 63, 63] == 1


def test_64_by_3_splits_21_22_21():
    areas = grid_masks(64, 64, 3, 1).sum(dim=(1, 2, 3))
    assert (areas / 64).tolist() == [21, 22, 21]


def test_center_mask_is_centred_with_the_requested_fraction():
    mask = center_mask(64, 64, 0.5)[0]
    assert mask.sum() == 32 * 32
    rows, cols = mask.nonzero(as_tuple=True)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (16, 47, 16, 47)
    assert center_mask(10, 20, 1.0).sum() == 200
    assert center_mask(7, 7, 0.01).sum() == 1


def test_grid3_center_masks_are_the_grid_then_the_centre():
    masks = grid3_center_masks(64, 64)
    assert masks.shape == (10, 1, 64, 64)
    assert torch.equal(masks[:9], grid_masks(64, 64, 3, 3))
    assert torch.equal(masks[9], center_mask(64, 64))


def test_multiscale_and_named_sets():
    assert multiscale_masks(64, 64).shape[0] == 1 + 4 + 9 + 16
    for name in MASK_SETS:
        masks = mask_set(name, 16, 16)
        assert masks.ndim == 4 and masks.shape[1:] == (1, 16, 16)


def test_feathered_partition_still_sums_to_one():
    soft = feather(grid_masks(32, 32, 3, 3), sigma=2.0)
    assert torch.allclose(coverage(soft), torch.ones(32, 32), atol=1e-5)
    assert 0 < soft[0, 0, 10, 10] < 1  # an edge pixel is now shared


def test_weight_map_sums_to_one_and_is_uniform_for_a_plain_mask():
    weights = loss_weight_map(grid_masks(8, 8, 1, 1))
    assert torch.allclose(weights, torch.full((1, 1, 8, 8), 1 / 64))
    seed = loss_weight_map(grid3_center_masks(64, 64))
    assert seed.sum().item() == pytest.approx(1.0)
    assert seed[0, 0, 32, 32] > seed[0, 0, 0, 0]  # the centre mask adds weight in the middle


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: grid_masks(64, 64, 0, 3), "rows must be an integer from 1 to 64"),
        (lambda: grid_masks(64, 64, 3, -1), "cols must be an integer from 1 to 64"),
        (lambda: grid_masks(8, 8, 9, 3), "rows must be an integer from 1 to 8"),
        (lambda: grid_masks(0, 8, 1, 1), "height must be a positive integer"),
        (lambda: grid_masks(8, 8, 2.5, 1), "rows must be an integer"),
        (lambda: center_mask(8, 8, 0.0), "fraction must be in (0, 1]"),
        (lambda: center_mask(8, 8, 1.5), "fraction must be in (0, 1], got 1.5"),
        (lambda: mask_set("grid9", 8, 8), "mask set must be one of"),
        (lambda: feather(grid_masks(8, 8, 2, 2), 0), "sigma must be a positive number"),
        (lambda: loss_weight_map(torch.zeros(2, 1, 4, 4)), "every mask must cover at least one pixel"),
    ],
)
def test_bad_mask_arguments_raise_one_clear_error(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_weight_range_is_one_exactly_where_the_masked_loss_is_the_plain_mse():
    assert weight_range(mask_set("none", 32, 32)) == (1.0, 1.0)
    assert weight_range(mask_set("grid4", 32, 32)) == pytest.approx((1.0, 1.0))  # equal 8x8 cells
    lightest, heaviest = weight_range(mask_set("grid4", 30, 30))  # cells of 7 and 8 pixels: no longer uniform
    assert lightest < 1.0 < heaviest
    weights = loss_weight_map(mask_set("grid3_center", 64, 64))[0, 0] * 64 * 64
    inside = center_mask(64, 64)[0].bool()
    heaviest = weight_range(mask_set("grid3_center", 64, 64))[1]
    assert heaviest == pytest.approx(float(weights[inside].max()))  # the centre holds the heaviest pixels
    assert heaviest > float(weights[~inside].max())
