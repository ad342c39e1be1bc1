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
    sample_steps: int  # scheduler steps per evaluation image
    scheduler: str  # the evaluation's scheduler (`sampling.SCHEDULERS`); x_t for training is always DDIM, as ESD's
    guidance: float  # classifier-free guidance for evaluation images
    batch_size: int  # images denoised together; the VAE then decodes one image at a time
    cases_per_style: int  # chapter 4's evaluation cases per style and prompt split, one image each per seed
    image_seeds: tuple[int, ...]  # chapter 4's image seeds: two, so that `moved` has a seed-to-seed distance to be read in
    judge: str  # "toy" (the toy world's classifier) or a CLIP model id or folder
    test_prompt: str = TEST_PROMPT  # the report's test: original beside erased on these seeds
    test_seeds: tuple[int, ...] = TEST_SEEDS


# The pixel-space toy model over-saturates at SD's guidance (5 to 8); it follows style prompts best at 2.5,
# and at 10 DDIM steps better than at 20 or 50 (results/toy_fidelity.json), so it is sampled as every study judges.
# Chapter 4 asks 9 cases per style and split on 2 image seeds: every phrasing equally often, about a minute on 2 cores.
TOY = TierSettings("toy", sample_steps=10, scheduler="ddim", guidance=2.5, batch_size=64, cases_per_style=9, image_seeds=(5000, 5001),
                   judge="toy")  # fmt: skip
# SD1.4 at its model card's guidance 7.5, with DPM-Solver++ in 25 steps instead of DDIM's 50; 4 images per batch keep
# the UNet's guided pass at batch 8. Chapter 4 asks 2 cases per style and split (one per phrasing) on 2 image seeds: with
# the comparison grid, 178 images, estimated at about 14 min on a T4 (book/setup.ipynb); `cases_per_style = 20` asks every one.
SD = TierSettings("sd", sample_steps=25, scheduler="dpm++", guidance=7.5, batch_size=4, cases_per_style=2, image_seeds=(5000, 5001),
                  judge=CLIP_MODEL_ID)  # fmt: skip


def evaluation_images(model_name: str) -> int:
    """How many images chapter 4 makes at the tier's defaults: both models, every style and split's cases on each image
    seed, then the comparison grid (its 5 prompts on the test seeds)."""
    from .measure import sample_cases

    tier = tier_settings(model_name)
    cases = len(sample_cases(style_suite(model_name).cases, tier.cases_per_style))
    return 2 * (cases * len(tier.image_seeds) + 5 * len(tier.test_seeds))


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
