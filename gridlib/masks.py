"""Spatial masks on the UNet's grid, and the one weight map that a set of masks amounts to.

A mask set is a float tensor of shape (num_masks, 1, height, width). Grid cells partition the
plane exactly: every pixel lies in exactly one cell, also when the size does not divide evenly
(cell edges are rounded to whole pixels, so neighbouring cells differ by at most one row or column).
"""

import torch

from .checks import require_positive_int

MASK_SETS = ("none", "grid3_center", "grid3", "grid4", "grid5", "multiscale", "center")


def _check_size(height: int, width: int) -> None:
    require_positive_int("height", height)
    require_positive_int("width", width)


def _edges(length: int, parts: int) -> list[int]:
    """`parts + 1` whole-pixel boundaries that split `length` pixels into near-equal runs."""
    return [round(i * length / parts) for i in range(parts + 1)]


def grid_masks(height: int, width: int, rows: int, cols: int) -> torch.Tensor:
    """A rows x cols grid of cells that partition a height x width plane, row-major order."""
    _check_size(height, width)
    for name, value, limit in (("rows", rows, height), ("cols", cols, width)):
        if not isinstance(value, int) or not 1 <= value <= limit:
            raise ValueError(f"{name} must be an integer from 1 to {limit} (one cell per pixel at most), got {value!r}")
    masks = torch.zeros(rows * cols, 1, height, width)
    row_edges, col_edges = _edges(height, rows), _edges(width, cols)
    for r in range(rows):
        for c in range(cols):
            masks[r * cols + c, 0, row_edges[r] : row_edges[r + 1], col_edges[c] : col_edges[c + 1]] = 1.0
    return masks


def center_mask(height: int, width: int, fraction: float = 0.5) -> torch.Tensor:
    """A centred box covering `fraction` of the height and of the width, shape (1, height, width)."""
    _check_size(height, width)
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    box_h, box_w = max(1, round(fraction * height)), max(1, round(fraction * width))
    top, left = (height - box_h) // 2, (width - box_w) // 2
    mask = torch.zeros(1, height, width)
    mask[0, top : top + box_h, left : left + box_w] = 1.0
    return mask


def grid3_center_masks(height: int, width: int) -> torch.Tensor:
    """The report's 10 masks (the mask set `grid3_center`): the 3x3 grid, then the centre box (half the height and width)."""
    return torch.cat([grid_masks(height, width, 3, 3), center_mask(height, width)[None]])


def multiscale_masks(height: int, width: int, grids: tuple[int, ...] = (1, 2, 3, 4)) -> torch.Tensor:
    """Square grids of several sizes stacked into one set (1 = the whole image)."""
    return torch.cat([grid_masks(height, width, n, n) for n in grids])


def mask_set(name: str, height: int, width: int) -> torch.Tensor:
    """A named mask set, as training configs and ablations refer to them."""
    if name == "none":
        return grid_masks(height, width, 1, 1)
    if name == "grid3_center":
        return grid3_center_masks(height, width)
    if name in ("grid3", "grid4", "grid5"):
        n = int(name[-1])
        return grid_masks(height, width, n, n)
    if name == "multiscale":
        return multiscale_masks(height, width)
    if name == "center":
        return center_mask(height, width)[None]
    raise ValueError(f"mask set must be one of {MASK_SETS}, got {name!r}")


def feather(masks: torch.Tensor, sigma: float) -> torch.Tensor:
    """Soften mask edges with a Gaussian blur; a partition stays a partition (cells still sum to 1)."""
    if not isinstance(sigma, (int, float)) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}")
    radius = max(1, int(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    blurred = masks.float()
    for shape in ((1, 1, 1, -1), (1, 1, -1, 1)):  # separable: along width, then along height
        pad = (radius, radius, 0, 0) if shape[-1] == -1 else (0, 0, radius, radius)
        blurred = torch.nn.functional.conv2d(torch.nn.functional.pad(blurred, pad, mode="replicate"), kernel.view(shape))
    return blurred


def coverage(masks: torch.Tensor) -> torch.Tensor:
    """How many masks cover each pixel, shape (height, width): 1 everywhere for a partition."""
    return masks.sum(dim=(0, 1))


def loss_weight_map(masks: torch.Tensor) -> torch.Tensor:
    """The per-pixel weights that make one weighted MSE equal the mean of the per-mask MSEs.

    Each mask's MSE divides its summed squared error by its own area, so a pixel's weight is
    the mean over masks of mask / area. The map has shape (1, 1, height, width) and sums to 1.
    """
    if masks.ndim != 4 or masks.shape[1] != 1:
        raise ValueError(f"masks must have shape (num_masks, 1, height, width), got {tuple(masks.shape)}")
    areas = masks.sum(dim=(1, 2, 3), keepdim=True)
    if (areas <= 0).any():
        raise ValueError("every mask must cover at least one pixel; got an empty mask")
    return (masks / areas).mean(dim=0, keepdim=True)


def weight_range(masks: torch.Tensor) -> tuple[float, float]:
    """The lightest and heaviest pixel weight of a mask set's loss, relative to plain MSE's 1.

    (1.0, 1.0) means the masked loss *is* the plain MSE; the further apart, the more the masks
    reweight the image. A quick way to see how much a mask set can change training at all.
    """
    weights = loss_weight_map(masks)
    weights = weights / weights.mean()
    return float(weights.min()), float(weights.max())
