"""TrainConfig: everything that defines one erasure run, checked in one place.

The defaults are the seed report's SD recipe; `gridlib.settings` holds the book's named recipes
(`named_recipe`), each a TrainConfig. `validate` refuses a bad field with one error that names it
and what it allows; `step_range` turns the noise levels into the steps x_t is drawn from.
"""

import math
from dataclasses import dataclass, field

from .checks import require_positive_int
from .concept_maps import WEIGHTINGS
from .esd import ANCHORS, METHODS
from .masks import MASK_SETS
from .prompts import SD_VAN_GOGH_PROMPTS

XT_SOURCES = ("sample", "noise")
SAMPLERS = ("trained", "frozen")


@dataclass
class TrainConfig:
    """Everything that defines an erasure run; the defaults are the seed report's SD recipe
    (`settings.named_recipe("sd14")`): its 20 prompts, 10 masks, lr 1e-5 and 100 iterations, at paper eta 1."""

    prompts: list[str] = field(default_factory=lambda: list(SD_VAN_GOGH_PROMPTS))
    # each prompt without the concept ("a red circle" for "a red circle by Van Gogh"), where the target is anchored
    # in place of ESD's empty prompt, so that only the concept is guided away; None: the empty prompt, as ESD
    neutral_prompts: list[str] | None = None
    masks: str = "grid3_center"  # the report's 3x3 grid + centre; "none" is plain ESD-X
    iterations: int = 100
    lr: float = 1e-5
    negative_guidance: float = 1.0  # paper eta 1 = esd_sd.py's 2.0 with anchor "concept" (the report's "2.0")
    anchor: str = "uncond"  # the paper's target; "concept" is esd_sd.py's
    method: str = "xattn"
    xt_source: str = "sample"  # ESD's partial sampling, or "noise" (no image generation)
    sampler: str = "trained"  # which model samples x_t: the one being trained (ESD paper) or the frozen one
    ddim_steps: int = 50
    # the part of the noise schedule x_t is drawn from, 0 = the clean image, 1 = pure noise; ESD draws from all of it
    noise_levels: list[float] = field(default_factory=lambda: [0.0, 1.0])
    sample_guidance: float = 3.0
    seed: int = 0
    checkpoint_every: int = 25
    weighting: str = "masks"  # the fixed mask set's weight map, or a per-example concept map (`concept_maps`)
    sharpness: float = 1.0  # concept maps only: 0 = uniform (plain ESD-X), larger = only where the concept is

    def validate(self) -> None:
        """Raise one ValueError naming the first bad field and what it allows."""
        if isinstance(self.prompts, str) or not self.prompts or not all(isinstance(p, str) and p.strip() for p in self.prompts):
            raise ValueError(f"prompts must be a non-empty list of non-empty strings, got {self.prompts!r}")
        neutral = self.neutral_prompts
        if neutral is not None and (
            isinstance(neutral, str) or len(neutral) != len(self.prompts) or not all(isinstance(p, str) for p in neutral)
        ):
            raise ValueError(f"neutral_prompts must be None or a list of {len(self.prompts)} strings, one per prompt, got {neutral!r}")
        choices = {"masks": MASK_SETS, "anchor": ANCHORS, "method": METHODS, "xt_source": XT_SOURCES, "sampler": SAMPLERS,
                   "weighting": WEIGHTINGS}  # fmt: skip
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("iterations", "ddim_steps", "checkpoint_every"):
            require_positive_int(name, getattr(self, name))
        if not isinstance(self.lr, (int, float)) or not 0 < self.lr < 1:
            raise ValueError(f"lr must be a number in (0, 1), got {self.lr!r}")
        if self.weighting != "masks" and self.masks != "none":
            raise ValueError(f"weighting={self.weighting!r} replaces the mask set's weight map: set masks='none', got {self.masks!r}")
        levels = self.noise_levels
        if (
            isinstance(levels, str)
            or len(levels) != 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in levels)
            or not 0 <= levels[0] < levels[1] <= 1
        ):
            raise ValueError(f"noise_levels must be two numbers (low, high) with 0 <= low < high <= 1, got {levels!r}")
        for name in ("negative_guidance", "sample_guidance", "sharpness"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")


def step_range(config: TrainConfig, train_timesteps: int) -> tuple[int, int]:
    """The range [first, last) that each example's step is drawn from, for `config.noise_levels`: timesteps
    on the noise route (t = 0 is clean), or on the sampling route how many DDIM steps to take before
    stopping (0 steps leaves pure noise, so high noise levels are few steps)."""
    low, high = config.noise_levels
    if config.xt_source == "noise":
        first, last = round(low * train_timesteps), round(high * train_timesteps)
    else:
        first, last = round((1 - high) * config.ddim_steps), round((1 - low) * config.ddim_steps)
    if first >= last:
        raise ValueError(f"noise_levels {config.noise_levels!r} leave no step of {config.xt_source!r} x_t to train on")
    return first, last
