"""Loss weights that follow the concept: one weight map per training example instead of one for all.

A fixed mask set gives every example the same weight map (chapter 1), so it cannot put the loss
where the concept is. These maps are computed per example from what the frozen model already
predicts for that example's x_t, so they cost no extra UNet pass:
- "difference": |eps0(x_t, c) - eps0(x_t, "")| summed over channels, where the prompt changes the
  frozen prediction;
- "adaptive_grid": the report's 3x3 grid with each cell weighted by the mean difference inside it,
  so that the grid's weights move with the content (the report's "adaptive grid", read literally).
Each map is raised to the power `sharpness` and scaled to mean 1 per example: sharpness 0 is
plain ESD-X, larger values put the loss only where the concept is.
"""

import torch

from .masks import grid_masks

WEIGHTINGS = ("masks", "difference", "adaptive_grid")  # "masks": the config's fixed mask set, as before


def difference_signal(eps_concept: torch.Tensor, eps_empty: torch.Tensor) -> torch.Tensor:
    """Where the concept changes the frozen prediction: |eps0(c) - eps0("")| summed over channels, (B, 1, H, W)."""
    return (eps_concept.float() - eps_empty.float()).abs().sum(dim=1, keepdim=True)


def adaptive_grid_signal(signal: torch.Tensor, rows: int = 3, cols: int = 3) -> torch.Tensor:
    """Each cell of a rows x cols grid filled with the mean of `signal` inside it, (B, 1, H, W)."""
    cells = grid_masks(*signal.shape[-2:], rows, cols).to(signal.device)  # (cells, 1, H, W), a partition
    means = (signal * cells.transpose(0, 1)).sum(dim=(-2, -1)) / cells.sum(dim=(-2, -1)).transpose(0, 1)  # (B, cells)
    return (means[:, :, None, None] * cells.transpose(0, 1)).sum(dim=1, keepdim=True)


def sharpened(signal: torch.Tensor, sharpness: float) -> torch.Tensor:
    """`signal ** sharpness`, scaled to mean 1 over each example's pixels (sharpness 0: all ones)."""
    weights = signal.clamp_min(1e-12) ** sharpness
    return weights / weights.mean(dim=(-2, -1), keepdim=True)


def concept_weights(weighting: str, sharpness: float, eps_concept: torch.Tensor, eps_empty: torch.Tensor) -> torch.Tensor:
    """Per-example loss weights for `esd.weighted_mse`: a mean-1 concept map divided by the pixel count, so
    that each example's weights sum to 1, as a fixed mask set's `loss_weight_map` does."""
    if weighting not in WEIGHTINGS[1:]:
        raise ValueError(f"weighting must be one of {WEIGHTINGS[1:]} for a concept map, got {weighting!r}")
    signal = difference_signal(eps_concept, eps_empty)
    if weighting == "adaptive_grid":
        signal = adaptive_grid_signal(signal)
    height, width = signal.shape[-2:]
    return sharpened(signal, sharpness) / (height * width)
