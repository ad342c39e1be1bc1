"""Per-tier settings: one place that says how each kind of model is trained and evaluated.

Every chapter's parameters default to `None`, meaning "this model's setting", so that changing
`model_name` alone gives the right values: Stable Diffusion samples in 50 DDIM steps at guidance
7.5 in batches that fit a T4, judged by CLIP; the toy model samples in 10 steps at guidance 2.5,
judged by its own classifier (style, shape and colour). The training recipes live here too.
"tiny" (random weights, for tests) takes the toy tier's values; "sd14", any SD1.x hub id and any
SD-layout folder take the SD tier's.
"""

from dataclasses import dataclass, replace

import torch

from .judges import CLIP_MODEL_ID, ClipJudge, StyleSuite, ToyJudge, sd_suite, toy_suite
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
    cases_per_style: int  # images per style and prompt split in chapter 4
    judge: str  # "toy" (the toy world's classifier) or a CLIP model id or folder
    test_prompt: str = TEST_PROMPT  # the report's test: original beside erased on these seeds
    test_seeds: tuple[int, ...] = TEST_SEEDS


# The pixel-space toy model over-saturates at SD's guidance (5 to 8); it follows style prompts best at 2.5,
# and at 10 DDIM steps better than at 20 or 50 (results/toy_fidelity.json), so it is sampled as every study judges.
# 72 images per style and split: every held-out painter prompt once (3 phrasings x 2 names x 12 objects).
TOY = TierSettings("toy", sample_steps=10, guidance=2.5, batch_size=64, cases_per_style=72, judge="toy")
# SD1.4 as its model card samples it (50 DDIM steps, guidance 7.5); 4 images per batch keep the UNet's
# guided pass at batch 8; 12 images per style and split is one per held-out prompt (2 phrasings x 6 subjects).
SD = TierSettings("sd", sample_steps=50, guidance=7.5, batch_size=4, cases_per_style=12, judge=CLIP_MODEL_ID)


def tier_settings(model_name: str) -> TierSettings:
    """The settings of the tier `model_name` belongs to."""
    return TOY if model_name in TOY_TIERS else SD


RECIPES = ("toy", "sd14", "sd14-paper")


def recipe(model_name: str, **overrides) -> TrainConfig:
    """The training recipe of a model's tier, with any fields overridden: "toy" for the toy tiers, else "sd14"."""
    return named_recipe("toy" if model_name in TOY_TIERS else "sd14", **overrides)


def named_recipe(name: str, **overrides) -> TrainConfig:
    """One of the book's recipes (`RECIPES`), with any fields overridden.

    - "sd14": `TrainConfig()`'s defaults, the seed report's recipe: its 20 prompts and 10 masks, 100 iterations
      at lr 1e-5, paper eta 1 (the report's "negative guidance 2.0" read as `esd_sd.py` reads it), x_t sampled
      in 50 DDIM steps by the model being trained. Its lr x iterations is a tenth of the paper's.
    - "sd14-paper": the same with the ESD paper's budget (`train-esd.py`: 1,000 iterations at lr 1e-5, eta 1),
      the budget of the released Van Gogh model.
    - "toy": measured for the 1.7M-parameter toy model, which is not SD1.4: 20 prompts that each name an object,
      each anchored at the same prompt without the painter instead of the empty prompt (with the empty prompt
      the erasure took the objects too), lr 5e-4, eta 2, 100 iterations, and x_t drawn from noise at the noisier
      half of the schedule (`noise_levels`), instead of ESD's partial sampling from every level. The appendix
      "How the toy recipe was found" gives the measurements behind each choice (`python -m gridlib reproduce --list`).
      `ddim_steps` is 20 for toy runs that choose `xt_source="sample"`.
    """
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {name!r}")
    if name == "toy":
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
        base = TrainConfig(iterations=1000 if name == "sd14-paper" else 100, lr=1e-5)
    return replace(base, **overrides)


def prompt_sets() -> dict[str, tuple[str, ...]]:
    """The named lists of erasure prompts that recipes and commands choose from (`--prompts NAME`)."""
    from .prompts import SD_VAN_GOGH_PROMPTS
    from .toyworld.prompts import VAN_GOGH_PAINTER_PROMPTS, VAN_GOGH_PROMPTS

    no_orange = tuple(p for p in VAN_GOGH_PROMPTS if "orange circle" not in p and "orange square" not in p)
    return {
        "toy_objects": VAN_GOGH_PROMPTS,  # the toy recipe's: each names an object
        "toy_painter": VAN_GOGH_PAINTER_PROMPTS,  # each names only the painter
        "toy_no_orange": no_orange,  # the toy recipe's, less those that name an orange circle or square
        "sd_report": SD_VAN_GOGH_PROMPTS,  # the seed report's 20 prompts
    }


def style_suite(model_name: str) -> StyleSuite:
    """The styles and prompts that evaluation measures on this tier."""
    return toy_suite() if model_name in TOY_TIERS else sd_suite()


def make_judge(model_name: str, judge: str | None = None, device: str | torch.device | None = None):
    """The tier's judge: the toy scene classifier, or CLIP zero-shot (`judge`: a CLIP id or folder)."""
    judge = judge or tier_settings(model_name).judge
    if judge == "toy":
        return ToyJudge()
    return ClipJudge.from_pretrained(judge, device=device)
