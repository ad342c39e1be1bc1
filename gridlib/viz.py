"""Figures for the book: masks, weight maps, image grids, loss curves, ablation bars, and a mask explorer."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .masks import grid_masks, loss_weight_map, multiscale_masks


def show_masks(masks: torch.Tensor, titles: list[str] | None = None, columns: int = 5) -> Figure:
    """Each mask of a set as a small black-and-white panel."""
    count = masks.shape[0]
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(masks[index, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(titles[index] if titles else f"mask {index}", fontsize=9)
    fig.tight_layout()
    return fig


def show_weight_map(masks: torch.Tensor, title: str = "loss weight per latent pixel") -> Figure:
    """The weight map a mask set amounts to, relative to a plain MSE (1.0 = plain MSE's weight)."""
    height, width = masks.shape[-2:]
    relative = loss_weight_map(masks)[0, 0] * height * width
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    image = ax.imshow(relative.numpy(), cmap="magma")
    fig.colorbar(image, ax=ax, label="weight / plain-MSE weight")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    return fig


def image_grid(images: torch.Tensor, row_titles: list[str], column_titles: list[str] | None = None, size: float = 1.8) -> Figure:
    """Images (rows * columns, 3, H, W) in [0, 1], laid out row by row with titles."""
    rows = len(row_titles)
    columns = images.shape[0] // rows
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows + 0.3), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.imshow(images[index].permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if index % columns == 0:
            ax.set_ylabel(row_titles[index // columns], fontsize=9)
        if column_titles and index < columns:
            ax.set_title(column_titles[index], fontsize=9)
    fig.tight_layout()
    return fig


def loss_curve(losses: list[float], window: int = 10, title: str = "ESD-X training loss") -> Figure:
    """Per-iteration loss with a running mean (single iterations are noisy: one random x_t each)."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(losses, alpha=0.35, label="per iteration")
    if len(losses) >= window:
        ax.plot(range(window - 1, len(losses)), np.convolve(losses, np.ones(window) / window, mode="valid"), label=f"mean of {window}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    return fig


def ablation_bars(results: list[dict], target: str = "van_gogh") -> Figure:
    """Erasure (target-style rate, lower is better) and preservation (higher is better), mean +/- std over seeds."""
    names = [r["setting"] for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, key, title in (
        (axes[0], "erasure", f"{target} rate after erasure (lower = erased)"),
        (axes[1], "preservation", "other styles kept (higher = preserved)"),
    ):
        means = [100 * r[key]["mean"] for r in results]
        stds = [100 * r[key]["std"] for r in results]
        ax.barh(names, means, xerr=stds, color="tab:blue" if key == "erasure" else "tab:green", capsize=3)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of images")
        ax.set_title(title, fontsize=10)
        ax.invert_yaxis()
    fig.tight_layout()
    return fig


def mask_explorer():
    """An ipywidgets explorer: pick a grid and a centre mask, see the masks' weight map."""
    import ipywidgets as widgets

    from .masks import center_mask

    def draw(rows: int, cols: int, centre: bool, fraction: float, multiscale: bool):
        masks = multiscale_masks(64, 64) if multiscale else grid_masks(64, 64, rows, cols)
        if centre:
            masks = torch.cat([masks, center_mask(64, 64, fraction)[None]])
        show_weight_map(masks, f"{masks.shape[0]} masks")
        plt.show()

    return widgets.interactive(
        draw,
        rows=widgets.IntSlider(value=3, min=1, max=8),
        cols=widgets.IntSlider(value=3, min=1, max=8),
        centre=True,
        fraction=widgets.FloatSlider(0.5, min=0.1, max=1.0, step=0.05),
        multiscale=False,
    )


def grid3_center_titles() -> list[str]:
    """Titles for the report's 10 masks (`seed_masks`), in order: the 3x3 cells, then the centre."""
    return [f"cell {r},{c}" for r in range(3) for c in range(3)] + ["centre"]


def show_tensors(tensors: dict[str, torch.Tensor], size: float = 2.2) -> Figure:
    """One (C, H, W) tensor per panel; the first 3 channels as RGB, each scaled to its own range."""
    fig, axes = plt.subplots(1, len(tensors), figsize=(size * len(tensors), size + 0.4), squeeze=False)
    for ax, (name, tensor) in zip(axes[0], tensors.items(), strict=True):
        rgb = tensor[:3].float().cpu()
        rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min() + 1e-8)
        ax.imshow(rgb.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig
