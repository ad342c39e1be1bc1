"""Per-tier settings: one place that says how each kind of model is trained and evaluated.

Every chapter's parameters default to `None`, meaning "this model's setting", so that changing
`model_name` alone gives the right values: Stable Diffusion samples in 50 DDIM steps at guidance
7.5 in batches that fit a T4, judged by CLIP; the toy model samples in 20 steps at guidance 2.5,
judged by its own classifier (style, shape and colour). "tiny" (random weights, for tests) takes the toy tier's values;
"sd14", any SD1.x hub id and any SD-layout folder take the SD tier's.
"""

from dataclasses import dataclass, replace

import torch

from .evaluate import CLIP_MODEL_ID, ClipJudge, StyleSuite, ToyJudge, sd_suite, toy_suite
from .prompts import TEST_PROMPT, TEST_SEEDS
from .train import TrainConfig

TOY_TIERS = ("toy", "tiny")


@dataclass(frozen=True)
class TierSettings:
    """How one tier samples and judges images (its training recipe is `recipe(model_name)`)."""

    tier: str  # "toy" or "sd"
    sample_steps: int  # DDIM steps per evaluation image
    guidance: float  # classifier-free guidance for evaluation images
    batch_size: int  # images denoised together; the VAE then decodes one image at a time
    samples_per_style: int  # images per style and prompt split in chapter 4
    judge: str  # "toy" (the toy world's classifier) or a CLIP model id or folder
    test_prompt: str = TEST_PROMPT  # the report's test: original beside erased on these seeds
    test_seeds: tuple[int, ...] = TEST_SEEDS


# The pixel-space toy model over-saturates at SD's guidance (5 to 8); it follows style prompts best at 2.5,
# and at 10 DDIM steps better than at 20 or 50 (results/toy_fidelity.json), so it is sampled as every study judges.
# 72 images per style and split: every held-out painter prompt once (3 phrasings x 2 names x 12 objects).
TOY = TierSettings("toy", sample_steps=10, guidance=2.5, batch_size=64, samples_per_style=72, judge="toy")
# SD1.4 as its model card samples it (50 DDIM steps, guidance 7.5); 4 images per batch keep the UNet's
# guided pass at batch 8; 12 images per style and split is one per held-out prompt (2 phrasings x 6 subjects).
SD = TierSettings("sd", sample_steps=50, guidance=7.5, batch_size=4, samples_per_style=12, judge=CLIP_MODEL_ID)


def tier_settings(model_name: str) -> TierSettings:
    """The settings of the tier `model_name` belongs to."""
    return TOY if model_name in TOY_TIERS else SD


def recipe(model_name: str, **overrides) -> TrainConfig:
    """The training recipe for a model tier, with any fields overridden.

    SD1.4: `TrainConfig()`'s defaults, the report's recipe at the official ESD strength (paper
    eta 1, which `esd_sd.py` writes as 2.0 anchored at the concept). Toy (and tiny): measured changes,
    because a 1.7M-parameter model trained for a CPU minute is not SD1.4: 20 prompts that name an object,
    each anchored at the same prompt without the painter instead of the empty prompt (with the empty
    prompt, object-naming prompts erased the objects, and painter-only prompts left a fifth of his style
    and cost Seurat's shapes: results/recipe_object_prompts.json, results/recipe_painter_prompts.json,
    results/toy_v2/recipe_sweep_noise*.json), lr 5e-4 instead of
    1e-5, eta 2, and x_t drawn from noise instead of ESD's partial sampling (results/recipe_reliability.json;
    lr and eta from results/toy_v1/recipe_sweep*.json), for SD's 100 iterations (on the current toy model
    200 cost Van Gogh's and Seurat's prompts their shapes: results/recipe_neighbours.json), and only at the
    noisier half of the schedule (`noise_levels`): from every noise level, as ESD draws, the erasure also
    cost Seurat's prompts their shapes in 2 of 3 runs, and from the cleaner half it did so in all 3 and left
    29% of Van Gogh (results/recipe_candidates/; chapter 3 and the appendix read them). `ddim_steps` is 20 for toy
    runs that choose `xt_source="sample"`.
    """
    if model_name in TOY_TIERS:
        from .toyworld.prompts import VAN_GOGH_PROMPTS, neutral_prompt

        base = TrainConfig(
            prompts=list(VAN_GOGH_PROMPTS),
            neutral_prompts=[neutral_prompt(prompt) for prompt in VAN_GOGH_PROMPTS],
            lr=5e-4,
            iterations=100,
            negative_guidance=2.0,
            ddim_steps=20,
            xt_source="noise",
            noise_levels=[0.5, 1.0],
        )
    else:
        base = TrainConfig()
    return replace(base, **overrides)


def style_suite(model_name: str) -> StyleSuite:
    """The styles and prompts that evaluation measures on this tier."""
    return toy_suite() if model_name in TOY_TIERS else sd_suite()


def make_judge(model_name: str, judge: str | None = None, device: str | torch.device | None = None):
    """The tier's judge: the toy scene classifier, or CLIP zero-shot (`judge`: a CLIP id or folder)."""
    judge = judge or tier_settings(model_name).judge
    if judge == "toy":
        return ToyJudge()
    return ClipJudge.from_pretrained(judge, device=device)
