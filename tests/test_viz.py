"""The figures draw, and the mask explorer works on the ipywidgets gridlib requires at least (Colab's 7.7) and the newest."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from gridlib.viz import image_grid, loss_curve, loss_ends, mask_explorer  # noqa: E402

IPYWIDGETS7 = Path(__file__).parent.parent / ".venv" / "ipywidgets7"
EXPLORE = """
import ipywidgets, matplotlib
matplotlib.use("Agg")
from gridlib.viz import mask_explorer
explorer = mask_explorer()
explorer.children[0].value = 4  # rows: redraws the weight map
print(ipywidgets.__version__, type(explorer).__name__, [type(c).__name__ for c in explorer.children[:4]])
"""


def test_the_mask_explorer_redraws_on_the_installed_ipywidgets():
    explorer = mask_explorer()
    assert [type(child).__name__ for child in explorer.children[:4]] == ["IntSlider", "IntSlider", "Checkbox", "FloatSlider"]
    explorer.children[0].value = 4


def test_the_mask_explorer_runs_on_ipywidgets_7_as_colab_ships_it():
    assert IPYWIDGETS7.exists(), f"{IPYWIDGETS7} is missing: `make test` installs ipywidgets 7.7.1 there"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(IPYWIDGETS7), str(Path(__file__).parent.parent)])}
    result = subprocess.run([sys.executable, "-c", EXPLORE], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "7.7.1 interactive ['IntSlider', 'IntSlider', 'Checkbox', 'FloatSlider']"


def test_image_grid_and_loss_curve_lay_out_what_they_are_given():
    import torch

    figure = image_grid(torch.rand(6, 3, 8, 8), ["a", "b"], ["1", "2", "3"])
    assert len(figure.axes) == 6 and figure.axes[0].get_ylabel() == "a" and figure.axes[2].get_title() == "3"
    curve = loss_curve([0.2] * 25 + [0.1] * 35).axes[0]
    assert len(curve.lines) == 2  # per iteration, and the running mean
    assert "first 25: 0.2000, of the last 25: 0.1000 (-50%)" in curve.get_title()


def test_loss_ends_average_each_end_over_the_same_window_shortened_for_short_runs():
    assert loss_ends([0.5] * 25 + [0.25] * 75) == (25, 0.5, 0.25)
    assert loss_ends([4.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0]) == (4, 2.5, 1.75)  # each half of a short run
    assert loss_ends([3.0, 1.0]) == (1, 3.0, 1.0)


def test_mask_panels_are_framed_and_weight_maps_share_a_scale_centred_on_one():
    import torch

    from gridlib.masks import mask_set
    from gridlib.viz import show_masks, weight_map_gallery

    panel = show_masks(mask_set("grid3_center", 32, 32), background=torch.rand(3, 32, 32)).axes[0]
    assert all(spine.get_visible() for spine in panel.spines.values())
    gallery = weight_map_gallery({name: mask_set(name, 64, 64) for name in ("none", "grid3_center", "multiscale")})
    norms = {ax.images[0].norm for ax in gallery.axes[:3]}
    assert len(norms) == 1 and norms.pop().vcenter == 1.0


def test_the_concept_map_figure_has_a_row_per_map_and_a_column_per_example():
    import torch

    from gridlib.viz import concept_map_figure

    maps = {"difference": torch.rand(3, 1, 8, 8) / 64, "adaptive_grid": torch.rand(3, 1, 8, 8) / 64}
    figure = concept_map_figure(torch.randn(3, 4, 8, 8), maps)
    panels = [ax for ax in figure.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert len(panels) == 9 and panels[0].get_ylabel() == "x_t"


def test_every_figure_keeps_its_text_legible_at_the_page_width():
    """At 1280 px the book's column is about 730 px wide: every label of every figure stays at least 10 px high."""
    import matplotlib.pyplot as plt
    import torch

    from gridlib.masks import grid3_center_masks, mask_set
    from gridlib.viz import ablation_bars, concept_map_figure, show_masks, show_tensors, smallest_text_px, weight_map_gallery

    titles = ["original: a painting of a red circle in the style of Van Gogh", "erased: the same prompt"] * 5
    figures = {
        "image_grid": image_grid(torch.rand(50, 3, 8, 8), titles, [f"seed {s}" for s in range(5000, 5005)]),
        "loss_curve": loss_curve([0.1 - 0.001 * i for i in range(60)]),
        "show_masks": show_masks(grid3_center_masks(16, 16)),
        "weight_map_gallery": weight_map_gallery(
            {name: mask_set(name, 16, 16) for name in ("none", "grid3_center", "grid4", "grid5", "multiscale")}
        ),
        "ablation_bars": ablation_bars(
            [
                {"setting": name, "target_left": {"mean": 0.1, "std": 0.01}, "preservation": {"mean": 0.9, "std": 0.01}}
                for name in ("none", "grid3_center")
            ]
        ),
        "show_tensors": show_tensors({f"t{i}": torch.rand(3, 8, 8) for i in range(5)}),
        "concept_map_figure": concept_map_figure(
            torch.rand(4, 3, 8, 8), {"difference": torch.rand(4, 1, 8, 8), "attention": torch.rand(4, 1, 8, 8)}
        ),
    }
    small = {name: round(smallest_text_px(figure), 1) for name, figure in figures.items() if smallest_text_px(figure) < 10}
    plt.close("all")
    assert not small
