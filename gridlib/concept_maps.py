"""Loss weights that follow the concept: one weight map per training example instead of one for all.

A fixed mask set gives every example the same weight map (chapter 1), so it cannot put the loss
where the concept is. These maps are computed per example from what the frozen model already
predicts for that example's x_t, so they cost no extra UNet pass:
- "difference": |eps0(x_t, c) - eps0(x_t, "")| summed over channels, where the prompt changes the
  frozen prediction;
- "adaptive_grid": the report's 3x3 grid with each cell weighted by the mean difference inside it,
  so that the grid's weights move with the content (the report's "adaptive grid", read literally);
- "attention": where the frozen model's cross-attention (`attn2`) looks at the concept's own tokens
  ("van", "gogh", ...), averaged over heads and layers, recorded during the same frozen pass.
Each map is raised to the power `sharpness` and scaled to mean 1 per example: sharpness 0 is
plain ESD-X, larger values put the loss only where the concept is.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel

from .masks import grid_masks
from .models import prompt_token_ids

WEIGHTINGS = ("masks", "difference", "adaptive_grid", "attention")  # "masks": the config's fixed mask set, as before
CONCEPT_WORDS = ("vincent", "van", "gogh")  # the tokens whose cross-attention the "attention" map follows


def difference_signal(eps_concept: torch.Tensor, eps_anchor: torch.Tensor) -> torch.Tensor:
    """Where the concept changes the frozen prediction: |eps0(c) - eps0("")| summed over channels, (B, 1, H, W)."""
    return (eps_concept.float() - eps_anchor.float()).abs().sum(dim=1, keepdim=True)


def adaptive_grid_signal(signal: torch.Tensor, rows: int = 3, cols: int = 3) -> torch.Tensor:
    """Each cell of a rows x cols grid filled with the mean of `signal` inside it, (B, 1, H, W)."""
    cells = grid_masks(*signal.shape[-2:], rows, cols).to(signal.device)  # (cells, 1, H, W), a partition
    means = (signal * cells.transpose(0, 1)).sum(dim=(-2, -1)) / cells.sum(dim=(-2, -1)).transpose(0, 1)  # (B, cells)
    return (means[:, :, None, None] * cells.transpose(0, 1)).sum(dim=1, keepdim=True)


class CrossAttentionRecorder:
    """A diffusers attention processor that records a cross-attention layer's probabilities, (rows, heads,
    pixels, tokens), then lets the layer's own processor compute its output, so the output is unchanged.
    With `rows` it keeps a copy of each batch's first `rows` examples only (the concept half of a frozen pass),
    so the rest of the probabilities are freed."""

    def __init__(self, processor, store: list[torch.Tensor], rows: int | None = None):
        self.processor, self.store, self.rows = processor, store, rows

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, **kwargs):
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(encoder_hidden_states))
        probs = attn.get_attention_scores(query, key).unflatten(0, (-1, attn.heads)).detach()
        self.store.append(probs if self.rows is None else probs[: self.rows].clone())
        return self.processor(attn, hidden_states, encoder_hidden_states, attention_mask, **kwargs)


@contextmanager
def recording_cross_attention(unet: UNet2DConditionModel, rows: int | None = None) -> Iterator[list[torch.Tensor]]:
    """Inside the block every `attn2` layer records its attention probabilities into the yielded list,
    one tensor per layer and pass (only each batch's first `rows` examples, when given); afterwards the
    UNet has its own processors back."""
    originals, store = unet.attn_processors, []
    unet.set_attn_processor(
        {name: CrossAttentionRecorder(processor, store, rows) if ".attn2." in name else processor for name, processor in originals.items()}
    )
    try:
        yield store
    finally:
        unet.set_attn_processor(originals)


def concept_token_mask(tokenizer, prompts: list[str], words: tuple[str, ...] = CONCEPT_WORDS) -> torch.Tensor:
    """(prompts, tokens) booleans: which of each prompt's padded tokens spell one of `words` (a word may be
    several tokens: only the whole run counts, so "an" is not taken for the end of "van")."""
    ids = prompt_token_ids(tokenizer, prompts)
    mask = torch.zeros_like(ids, dtype=torch.bool)
    for word in words:
        pieces = torch.tensor(tokenizer(word, add_special_tokens=False).input_ids)
        runs = ids.unfold(1, len(pieces), 1).eq(pieces).all(-1)  # (prompts, start positions)
        for start in range(len(pieces)):
            mask[:, start : start + runs.shape[1]] |= runs
    if not mask.any(dim=1).all():
        missing = [prompt for prompt, found in zip(prompts, mask.any(dim=1), strict=True) if not found]
        raise ValueError(f"the attention map needs a concept word {words} in every prompt; none in {missing!r}")
    return mask


def attention_signal(layers: list[torch.Tensor], token_mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """How much attention each pixel pays to the concept's tokens, (B, 1, H, W): each layer's probabilities
    summed over those tokens, averaged over heads, resized to `size`, then averaged over layers.
    `layers` may hold a larger batch whose first B examples are the concept's (as `frozen_predictions` batches)."""
    batch, maps = token_mask.shape[0], []
    for probs in layers:
        on_concept = (probs[:batch].float() * token_mask[:, None, None, :].to(probs.device)).sum(-1).mean(1)  # (B, pixels)
        side = round((on_concept.shape[1] * size[1] / size[0]) ** 0.5)
        grid = on_concept.view(batch, 1, on_concept.shape[1] // side, side)
        maps.append(F.interpolate(grid, size=size, mode="bilinear", align_corners=False))
    return torch.stack(maps).mean(0)


def sharpened(signal: torch.Tensor, sharpness: float) -> torch.Tensor:
    """`signal ** sharpness`, scaled to mean 1 over each example's pixels (sharpness 0: all ones)."""
    weights = signal.clamp_min(1e-12) ** sharpness
    return weights / weights.mean(dim=(-2, -1), keepdim=True)


def concept_signal(
    weighting: str,
    eps_concept: torch.Tensor,
    eps_anchor: torch.Tensor,
    attention: list[torch.Tensor] | None = None,
    token_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The concept signal (B, 1, H, W) of one of the concept WEIGHTINGS, from one frozen pass: its two
    predictions and, for "attention", what `recording_cross_attention` recorded and `concept_token_mask`."""
    if weighting not in WEIGHTINGS[1:]:
        raise ValueError(f"weighting must be one of {WEIGHTINGS[1:]} for a concept map, got {weighting!r}")
    if weighting == "attention":
        if not attention or token_mask is None:
            raise ValueError("the attention map needs the recorded cross-attention and the concept's token mask")
        return attention_signal(attention, token_mask, tuple(eps_concept.shape[-2:]))
    signal = difference_signal(eps_concept, eps_anchor)
    return adaptive_grid_signal(signal) if weighting == "adaptive_grid" else signal


def concept_weights(signal: torch.Tensor, sharpness: float) -> torch.Tensor:
    """Per-example loss weights for `esd.weighted_mse` from a concept signal (B, 1, H, W): the mean-1 map
    `sharpened` divided by the pixel count, so that each example's weights sum to 1, as a fixed mask set's
    `loss_weight_map` does."""
    height, width = signal.shape[-2:]
    return sharpened(signal, sharpness) / (height * width)


def weight_summary(weights: torch.Tensor) -> dict[str, float]:
    """How far per-example weights (B, 1, H, W), each summing to 1, are from a plain MSE's: the lightest and
    heaviest pixel relative to plain (1.0 = plain), and the share of the loss on the heaviest 10% of pixels
    (0.10 = plain), each averaged over the examples."""
    relative = weights.flatten(1) * weights[0].numel()
    top = relative.topk(max(1, relative.shape[1] // 10), dim=1).values.sum(dim=1) / relative.shape[1]
    return {
        "lightest pixel": relative.min(dim=1).values.mean().item(),
        "heaviest pixel": relative.max(dim=1).values.mean().item(),
        "loss on the heaviest 10%": top.mean().item(),
    }
