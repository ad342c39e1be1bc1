"""What the studies train: named settings, each a change to a base recipe, compared at equal compute.

Every mask setting trains the same number of iterations on the same x_t route, so each does
exactly the same UNet forward and backward passes: a mask set only changes the weight map of
one MSE (see `masks.loss_weight_map`); two mask sets with the same weight map are one training, run
once (`same_training`). The x_t comparison is run twice: at equal iterations, and with the cheap
"noise" route given as many iterations as make its UNet passes (counting a backward as two
forwards) equal to the "sample" route's expected cost. The ablation settings answer the book's
questions; the recipe neighbours are the toy recipe's alternatives, measured while choosing it.
"""

import json
from dataclasses import asdict, dataclass, field, replace

import torch

from .checks import require_positive_int
from .masks import loss_weight_map, mask_set
from .sampling import SCHEDULERS
from .settings import TOY, recipe, tier_settings
from .train import TrainConfig


def study_recipe(**overrides) -> TrainConfig:
    """The recipe the study trains: the toy recipe on ESD's own x_t route, sampled in 10 DDIM steps.

    The study asks its questions where ESD asks them, on sampled x_t (SD1.4's recipe too); the toy
    recipe's noise route is one of its settings. Sampling x_t is most of a toy iteration's time on a
    CPU (benchmarks/RESULTS.md), so 10 steps instead of 20 let the whole study fit half an hour on
    2 cores (its results file records the time); `--ddim-steps 20` runs it at 20 steps.
    """
    return recipe("toy", **{"xt_source": "sample", "ddim_steps": 10, **overrides})


MASK_SETTINGS = ("none", "grid3_center", "grid4", "grid5", "multiscale")

# The ablation study: each setting is the base recipe with these fields changed.
ABLATION_SETTINGS = {
    "none": {"masks": "none"},
    "grid3_center": {"masks": "grid3_center"},
    "grid4": {"masks": "grid4"},
    "grid5": {"masks": "grid5"},
    "multiscale": {"masks": "multiscale"},
    "noise_equal_iterations": {"xt_source": "noise"},
    "noise_equal_passes": {"xt_source": "noise"},  # iterations set by noise_iterations_for_equal_passes
}
# The toy recipe's neighbours, measured while choosing its lr, eta, length, sampler and x_t route
# (results/toy_v1/recipe_sweep*.json; the route: results/recipe_reliability.json; the length on the
# current toy model, from 200 iterations: results/recipe_neighbours.json; the noise levels: results/recipe_candidates/).
RECIPE_NEIGHBOURS = {
    "lr_3e-4": {"lr": 3e-4},
    "eta_1": {"negative_guidance": 1.0},
    "lr_2.5e-4_x400": {"lr": 2.5e-4, "iterations": 400},
    "sampler_frozen": {"sampler": "frozen"},
    "ddim_15": {"ddim_steps": 15},
    "iterations_300": {"iterations": 300},
    "eta_3": {"negative_guidance": 3.0},
    "iterations_400": {"iterations": 400},
    "lr_2.5e-4_x600": {"lr": 2.5e-4, "iterations": 600},
    "lr_2.5e-4_x800": {"lr": 2.5e-4, "iterations": 800},
    "noise_100": {"xt_source": "noise", "iterations": 100},
    "all_noise_levels": {"noise_levels": [0.0, 1.0]},
}
# Masks that follow the concept (`concept_maps`): per-example weight maps, at two sharpness values each.
CONCEPT_MAP_SETTINGS = {
    f"{weighting}_{sharpness}": {"masks": "none", "weighting": weighting, "sharpness": float(sharpness)}
    for weighting in ("difference", "adaptive_grid", "attention")
    for sharpness in (1, 3)
}
SETTINGS = {**ABLATION_SETTINGS, **RECIPE_NEIGHBOURS, **CONCEPT_MAP_SETTINGS}


@dataclass
class StudyConfig:
    """What the study trains and how it measures; the defaults are the full study."""

    base: TrainConfig = field(default_factory=study_recipe)
    settings: tuple[str, ...] = tuple(ABLATION_SETTINGS)
    seeds: tuple[int, ...] = (0, 1, 2)
    cases_per_style: int = 72  # every held-out case once: 72 per painter (3 phrasings x 2 names x 12 objects), 24 photos
    sample_steps: int = TOY.sample_steps  # steps per evaluation image: the toy tier's, where it follows prompts best
    scheduler: str = TOY.scheduler  # the evaluation's scheduler (`sampling.SCHEDULERS`)
    guidance: float = TOY.guidance
    device: str = "cpu"  # where each run trains and samples; the toy judge runs on the CPU
    model: str = "toy"  # the model every run erases from: a tier name or an SD1.x id / folder
    judge: str | None = None  # None: the model's judge (`settings.make_judge`)

    def validate(self) -> None:
        """Raise one ValueError naming the first bad setting, seed or count, before anything trains."""
        for name in self.settings:
            setting_config(name, self.base).validate()
        if not self.seeds or not all(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 for seed in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds!r}")
        require_positive_int("cases_per_style", self.cases_per_style)
        require_positive_int("sample_steps", self.sample_steps)
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {tuple(SCHEDULERS)}, got {self.scheduler!r}")


def noise_iterations_for_equal_passes(config: TrainConfig) -> int:
    """Iterations of the "noise" route that cost what `config`'s "sample" route costs, in UNet passes.

    A sample-route iteration runs on average (ddim_steps - 1) / 2 guided steps (2 forwards each),
    then 3 forwards and 1 backward; a noise-route iteration runs 3 forwards and 1 backward.
    A backward is counted as two forwards.
    """
    sample_cost = (config.ddim_steps - 1) + 3 + 2
    return round(config.iterations * sample_cost / (3 + 2))


def setting_config(name: str, base: TrainConfig) -> TrainConfig:
    """The training config of one named setting (see `SETTINGS`)."""
    if name not in SETTINGS:
        raise ValueError(f"setting must be one of {tuple(SETTINGS)}, got {name!r}")
    if name.startswith("noise_equal") and base.xt_source != "sample":
        raise ValueError(f"setting {name!r} compares the noise route with a base that samples x_t, got xt_source={base.xt_source!r}")
    config = replace(base, **SETTINGS[name])
    if name == "noise_equal_passes":
        config = replace(config, iterations=noise_iterations_for_equal_passes(base))
    return config


def same_training(settings: tuple[str, ...], base: TrainConfig, size: tuple[int, int]) -> dict[str, str]:
    """Settings that would repeat an earlier setting's training exactly: {setting: the earlier one}.

    A mask set enters training only through its loss weight map, so two settings whose configs
    differ only in mask sets with the same map train bit for bit alike: on the toy model's 32x32
    images (`size`, the UNet's height and width) a 4x4 grid of equal 8x8 cells weights every pixel
    1/1024, as the full image does.
    """
    first_with: dict[tuple, str] = {}
    repeats = {}
    for name in settings:
        config = setting_config(name, base)
        weights = loss_weight_map(mask_set(config.masks, *size))
        key = (json.dumps(asdict(replace(config, masks=""))), weights.numpy().tobytes())
        if key in first_with:
            repeats[name] = first_with[key]
        else:
            first_with[key] = name
    return repeats


def quick_study() -> StudyConfig:
    """The `--quick` configuration: 2 settings, 1 seed, 40 iterations (chapter 5's default parameters)."""
    return StudyConfig(base=study_recipe(iterations=40), settings=("none", "grid3_center"), seeds=(0,), cases_per_style=16)


def live_study(
    model_name: str,
    settings: list[str],
    seeds: list[int],
    iterations: int,
    cases_per_style: int,
    judge: str | None = None,
    sample_steps: int | None = None,
    xt_source: str | None = None,
) -> StudyConfig:
    """A chapter's small study on any model: the toy study's base on the toy tier, the model's recipe
    (and its evaluation steps and guidance) on Stable Diffusion; `xt_source` overrides the base's route."""
    tier = tier_settings(model_name)
    if tier is TOY:
        base, steps = study_recipe(iterations=iterations), StudyConfig().sample_steps
    else:
        base, steps = recipe(model_name, iterations=iterations), tier.sample_steps
    if xt_source is not None:
        base = replace(base, xt_source=xt_source)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    study = StudyConfig(
        base=base,
        settings=tuple(settings),
        seeds=tuple(seeds),
        cases_per_style=cases_per_style,
        sample_steps=sample_steps or steps,
        scheduler=tier.scheduler,
        guidance=tier.guidance,
        device=device,
        model=model_name,
        judge=judge,
    )
    study.validate()
    return study
