"""The ESD-X objective: which tensors train, what they are trained towards, and the masked loss.

ESD (Gandikota et al., 2023) fine-tunes a model so that, for the concept prompt c, it predicts
what the *original* model predicts when guided away from c:

    target = eps0(x_t, "", t) - eta * (eps0(x_t, c, t) - eps0(x_t, "", t))

eps0 is the frozen original model. ESD-X trains only the cross-attention (`attn2`) tensors, the
only place where text enters SD's UNet. Here the frozen model is the same UNet with the original
`attn2` tensors swapped back in for one batched pass: no second copy of the UNet in memory.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import torch
from diffusers import UNet2DConditionModel
from torch import nn

METHODS = ("xattn", "noxattn", "full")
ANCHORS = ("uncond", "concept")
# ESD's "noxattn" leaves these out as well as cross-attention: time embedding and output layers.
_NOXATTN_SKIPPED = ("attn2", "time_embedding", "conv_out", "conv_norm_out")


def trainable_parameters(unet: UNet2DConditionModel, method: str = "xattn") -> list[tuple[str, nn.Parameter]]:
    """The (name, tensor) pairs a method trains: `xattn` = every attn2 tensor (ESD-X), `noxattn`, `full`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    named = list(unet.named_parameters())
    if method == "xattn":
        return [(name, p) for name, p in named if ".attn2." in name]
    if method == "noxattn":
        return [(name, p) for name, p in named if not any(part in name for part in _NOXATTN_SKIPPED)]
    return named


def parameter_table(named: list[tuple[str, nn.Parameter]]) -> list[dict]:
    """Trained tensors grouped by attention block: one row per block, with tensor and scalar counts."""
    rows: dict[str, dict] = {}
    for name, p in named:
        block = name.split(".attn2.")[0] if ".attn2." in name else name.rsplit(".", 1)[0]
        row = rows.setdefault(block, {"block": block, "tensors": 0, "scalars": 0})
        row["tensors"] += 1
        row["scalars"] += p.numel()
    return list(rows.values())


def esd_target(eps_concept: torch.Tensor, eps_anchor: torch.Tensor, negative_guidance: float, anchor: str = "uncond") -> torch.Tensor:
    """The ESD target from the frozen model's two predictions.

    anchor="uncond" is the paper's form, eps0("") - eta * (eps0(c) - eps0("")). anchor="concept" is
    the official repository's current esd_sd.py, eps0(c) - eta * (eps0(c) - eps0("")): the same
    target as the paper's with eta lowered by one. With `TrainConfig.neutral_prompts`, `eps_anchor` is
    eps0 of the prompt without the concept, and "" reads as that prompt in both forms.
    """
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
    start = eps_anchor if anchor == "uncond" else eps_concept
    return start - negative_guidance * (eps_concept - eps_anchor)


@contextmanager
def swapped(parameters: dict[str, nn.Parameter], values: dict[str, torch.Tensor]) -> Iterator[None]:
    """Inside this block each named parameter holds `values[name]` (a `.data` pointer swap, no copy)."""
    own = {name: p.data for name, p in parameters.items()}
    try:
        for name, p in parameters.items():
            p.data = values[name]
        yield
    finally:
        for name, p in parameters.items():
            p.data = own[name]


class FrozenCopy:
    """The original values of the trained tensors, swapped into the live UNet on demand.

    Holding only the trained tensors (80 of SD1.4's 686, 44M of 860M scalars) replaces ESD's
    deep copy of the whole UNet; swapping `.data` pointers costs no copying at all. The originals
    are kept in `dtype` (default: each tensor's own), the precision the frozen passes run in.
    """

    def __init__(self, named_parameters: list[tuple[str, nn.Parameter]], dtype: torch.dtype | None = None):
        self.parameters = dict(named_parameters)
        self.originals = {name: p.detach().to(dtype or p.dtype, copy=True) for name, p in named_parameters}

    def swapped_in(self) -> AbstractContextManager:
        """Inside this block the UNet is the original model; afterwards the trained values are back."""
        return swapped(self.parameters, self.originals)


@torch.no_grad()
def frozen_predictions(
    unet: UNet2DConditionModel, frozen: FrozenCopy, x_t: torch.Tensor, t: torch.Tensor, concept: torch.Tensor, neutral: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """eps0(x_t, c, t) and eps0(x_t, n, t) from one batched pass of the original model (x_t may hold several);
    the neutral prompt n is ESD's empty prompt (one embedding for all), or one per example."""
    with frozen.swapped_in():
        both = unet(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([concept, neutral.expand_as(concept)])).sample
    return both.chunk(2)


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The recipe's loss as written: the MSE inside each mask, averaged over the masks."""
    squared = (prediction - target).float() ** 2
    per_mask = [(squared * m).sum() / (m.sum() * squared.shape[0] * squared.shape[1]) for m in masks]
    return torch.stack(per_mask).mean()


def weighted_mse(prediction: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """A spatially weighted MSE; with `masks.loss_weight_map(masks)` it equals `masked_mse` exactly."""
    squared = (prediction - target).float() ** 2
    return (squared * weights).sum() / (squared.shape[0] * squared.shape[1])
