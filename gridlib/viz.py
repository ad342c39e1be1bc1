"""Figures for the book: masks, weight maps, image grids, loss curves, ablation bars, and a mask explorer."""

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from .masks import grid_masks, loss_weight_map, multiscale_masks

PAGE_PX = 730  # the built book's content column at a 1280 px window; a wider figure is shown scaled down to it
INLINE_DPI = 100  # pixels per inch of a figure as Jupyter and the book display it (before any scaling)


def smallest_text_px(fig: Figure, page_px: int = PAGE_PX) -> float:
    """The height in screen pixels of the figure's smallest visible text, once the figure is scaled to fit the page."""
    natural_px = fig.get_figwidth() * INLINE_DPI
    scale = min(1.0, page_px / natural_px)
    sizes = [text.get_fontsize() for text in fig.findobj(plt.Text) if text.get_visible() and text.get_text().strip()]
    return min(sizes) * INLINE_DPI / 72 * scale


def show_masks(masks: torch.Tensor, titles: list[str] | None = None, columns: int = 5, background: torch.Tensor | None = None) -> Figure:
    """Each mask of a set as a small framed panel; over `background` (3, H, W) the area outside the mask is dimmed."""
    count = masks.shape[0]
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.45 * columns, 1.5 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= count:
            ax.axis("off")
            continue
        mask = masks[index, 0]
        if background is None:
            ax.imshow(mask.numpy(), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow((background * (0.25 + 0.75 * mask)).permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
        for spine in ax.spines.values():  # a frame, so that white cells stand out from the white page
            spine.set(visible=True, color="0.3", linewidth=1)
        ax.set_title(titles[index] if titles else f"mask {index}", fontsize=9)
    fig.tight_layout()
    return fig


def sample_picture(height: int, width: int, style: str = "van_gogh", seed: int = 0) -> torch.Tensor:
    """A toy-world picture (3, height, width) in [0, 1], scaled to a mask grid: something real to lay masks over."""
    from .toyworld.world import render_batch

    picture = torch.from_numpy(render_batch(1, seed=seed, style=style)[0]).permute(0, 3, 1, 2)
    return torch.nn.functional.interpolate(picture, size=(height, width), mode="nearest")[0]


def _relative_weights(masks: torch.Tensor) -> np.ndarray:
    """The weight map of a mask set relative to a plain MSE's weight (1.0 everywhere for plain ESD-X)."""
    height, width = masks.shape[-2:]
    return (loss_weight_map(masks)[0, 0] * height * width).numpy()


def _weight_norm(relative: np.ndarray) -> TwoSlopeNorm:
    """A colour scale centred on 1 that spans at least 0.5 to 1.5, so that a 1% variation looks like one."""
    return TwoSlopeNorm(vcenter=1.0, vmin=min(0.5, relative.min()), vmax=max(1.5, relative.max()))


def show_weight_map(masks: torch.Tensor, title: str = "loss weight per latent pixel") -> Figure:
    """The weight map a mask set amounts to, relative to a plain MSE (1.0 = plain MSE's weight)."""
    relative = _relative_weights(masks)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    image = ax.imshow(relative, cmap="RdBu_r", norm=_weight_norm(relative))
    fig.colorbar(image, ax=ax, label="weight / plain-MSE weight")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    return fig


def weight_map_gallery(mask_sets: dict[str, torch.Tensor]) -> Figure:
    """Small multiples: the weight maps of several mask sets side by side, on one colour scale."""
    maps = {name: _relative_weights(masks) for name, masks in mask_sets.items()}
    norm = _weight_norm(np.concatenate([m.ravel() for m in maps.values()]))
    fig, axes = plt.subplots(1, len(maps), figsize=(1.3 * len(maps) + 0.8, 2.2), squeeze=False)
    for ax, (name, relative) in zip(axes[0], maps.items(), strict=True):
        image = ax.imshow(relative, cmap="RdBu_r", norm=norm)
        ax.set_title(f"{name}\n{relative.min():.2f} to {relative.max():.2f}", fontsize=9)
        ax.axis("off")
    fig.colorbar(image, ax=list(axes[0]), label="weight / plain MSE", shrink=0.8)
    return fig


def image_grid(images: torch.Tensor, row_titles: list[str], column_titles: list[str] | None = None, size: float = 1.2) -> Figure:
    """Images (rows * columns, 3, H, W) in [0, 1], laid out row by row; row titles are written level, wrapped, on the left."""
    rows = len(row_titles)
    columns = images.shape[0] // rows
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns + 2.6, size * rows + 0.3), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.imshow(images[index].permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if index % columns == 0:
            ax.set_ylabel(textwrap.fill(row_titles[index // columns], 26), fontsize=10, rotation=0, ha="right", va="center")
        if column_titles and index < columns:
            ax.set_title(column_titles[index], fontsize=10)
    fig.tight_layout()
    return fig


def loss_ends(losses: list[float], window: int = 25) -> tuple[int, float, float]:
    """The mean loss over a run's first and last `window` iterations (each half of a shorter run, at least one):
    single iterations are too noisy to compare. Returns the window used, then the two means."""
    window = max(1, min(window, len(losses) // 2))
    return window, float(np.mean(losses[:window])), float(np.mean(losses[-window:]))


def loss_curve(losses: list[float], window: int = 25, title: str = "ESD-X training loss") -> Figure:
    """Per-iteration loss with a running mean (single iterations are noisy: one random x_t each), and the mean of
    the first and of the last `window` iterations (`loss_ends`) written on the figure."""
    fig, ax = plt.subplots(figsize=(6.5, 3))
    ax.plot(losses, alpha=0.3, label="per iteration")
    if len(losses) >= 2 * window:
        ax.plot(range(window - 1, len(losses)), np.convolve(losses, np.ones(window) / window, mode="valid"), label=f"mean of {window}")
        window, first, last = loss_ends(losses, window)
        title += f"\nmean of the first {window}: {first:.4f}, of the last {window}: {last:.4f} ({100 * (last / first - 1):+.0f}%)"
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (log scale)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    return fig


def concept_map_figure(x_t: torch.Tensor, maps: dict[str, torch.Tensor], size: float = 1.3) -> Figure:
    """One column per training example: its x_t (first 3 channels, stretched to the full colour range), then each
    per-example weight map (`concept_maps`) relative to a plain MSE's weight. Each map's row has its own colour
    scale, centred on 1 and spanning that map's range (its colour bar says how far), so every row shows its pattern."""
    count, height, width = x_t.shape[0], *x_t.shape[-2:]
    relative = {name: (weights[:, 0] * height * width).cpu().numpy() for name, weights in maps.items()}
    figsize = (size * count + 2.4, size * (1 + len(maps)))
    fig, axes = plt.subplots(1 + len(maps), count, figsize=figsize, squeeze=False, layout="constrained")
    for column in range(count):
        rgb = x_t[column, :3].float().cpu()
        axes[0, column].imshow(((rgb - rgb.min()) / (rgb.max() - rgb.min() + 1e-8)).permute(1, 2, 0).numpy())
    for row, values in enumerate(relative.values(), start=1):
        spread = max(float(np.abs(values - 1).max()), 1e-3)
        norm = TwoSlopeNorm(vcenter=1.0, vmin=1 - spread, vmax=1 + spread)
        for column in range(count):
            image = axes[row, column].imshow(values[column], cmap="RdBu_r", norm=norm)
        fig.colorbar(image, ax=axes[row].tolist(), shrink=0.8, format="%.2f")
    for row, name in enumerate(("x_t", *maps)):
        axes[row, 0].set_ylabel(name.replace(", ", "\n"), fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("each map: weight / plain MSE's weight, on its own scale", fontsize=10)
    return fig


def ablation_bars(results: list[dict]) -> Figure:
    """Van Gogh left (lower is better) and other styles kept (higher is better), mean +/- std over seeds;
    each axis spans the data, so that differences of a few points are visible."""
    names = [r["setting"] for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(7.3, 3.4), sharey=True)
    for ax, key, title in (
        (axes[0], "target_left", "Van Gogh left after erasure (lower = erased)"),
        (axes[1], "preservation", "other styles kept (higher = preserved)"),
    ):
        means = [100 * r[key]["mean"] for r in results]
        stds = [100 * r[key]["std"] for r in results]
        ax.barh(names, means, xerr=stds, color="tab:blue" if key == "target_left" else "tab:green", capsize=3)
        if key == "target_left":
            ax.set_xlim(0, max(10.0, 1.2 * max(m + s for m, s in zip(means, stds, strict=True))))
        else:
            ax.set_xlim(max(0.0, min(m - s for m, s in zip(means, stds, strict=True)) - 5), 100)
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
    """Titles for the report's 10 masks (`grid3_center_masks`), in order: the 3x3 cells, then the centre."""
    return [f"cell {r},{c}" for r in range(3) for c in range(3)] + ["centre"]


def show_tensors(tensors: dict[str, torch.Tensor], size: float = 1.45) -> Figure:
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
