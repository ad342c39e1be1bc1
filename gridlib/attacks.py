"""Is the style really gone? Leak tests and a concept-inversion attack on erased toy models.

For each kind of erasure and each training seed, three measurements on the same model:
- **leaks**: how often prompts that the erasure never trained on still draw Van Gogh: held-out and
  unseen phrasings, and his named artworks without his name ("the starry night");
- **the attack**: learn a new word for the style by concept inversion (`gridlib.inversion`) on
  Van Gogh pictures, then ask for objects "in the style of" that word;
- **the price**: how many of the other styles' images keep their style.
The kinds are ESD-X (cross-attention only: the book's recipe), ESD-U (everything but
cross-attention, the ESD paper's `noxattn`) and full fine-tuning, all at the toy recipe's other
values, and the original model, whose attack result is the attack's ceiling.

    python -m gridlib attack --out results/attacks.json             # 4 variants x 3 seeds
"""

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from .inversion import InversionConfig, invert_concept, toy_style_pictures
from .judges import ToyJudge, toy_suite
from .measure import judge_cases, pooled_counts, rates, sample_cases
from .models import load_model
from .prompts import SD_LEAK_PROMPTS, SD_VAN_GOGH_PROMPTS, SUBJECTS, TARGET_ARTIST, PromptCase
from .runs import map_runs, timed_training
from .sampling import generate
from .settings import TOY, TOY_TIERS, recipe
from .stats import wilson_interval
from .toyworld.prompts import TEMPLATES, leak_cases, object_phrase
from .toyworld.world import COLOURS, SHAPES, STYLES, TARGET_STYLE
from .train import TrainConfig

VARIANTS = {"original": None, "esd_x": "xattn", "esd_u": "noxattn", "full": "full"}  # name: TrainConfig.method


@dataclass
class AttackStudy:
    """The variants, seeds and attack budget of the study; each seed seeds both the erasure and its attack."""

    variants: tuple[str, ...] = tuple(VARIANTS)
    seeds: tuple[int, ...] = (0, 1, 2)
    inversion: InversionConfig = field(default_factory=lambda: InversionConfig(steps=300, batch_size=8))
    pictures: int = 256  # Van Gogh pictures the attacker inverts from
    image_seeds: tuple[int, ...] = (5000,)  # every case once: 300 images before the attack, 60 after
    sample_steps: int = TOY.sample_steps  # as the other studies (`StudyConfig`)
    guidance: float = TOY.guidance
    iterations: int | None = None  # erasure iterations; None: the toy recipe's
    noise_levels: tuple[float, float] | None = None  # the erasures' x_t noise levels; None: the toy recipe's
    cases_per_style: int | None = None  # None: every case; else that many per split and style (`sample_cases`)

    def erasure_config(self, method: str, seed: int) -> TrainConfig:
        """The toy recipe for one erasure of the study, with its iterations and noise levels where the study sets them."""
        overrides = {"iterations": self.iterations, "noise_levels": None if self.noise_levels is None else list(self.noise_levels)}
        return recipe("toy", method=method, seed=seed, **{name: value for name, value in overrides.items() if value is not None})

    def validate(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise ValueError(f"variants must be a non-empty selection of {tuple(VARIANTS)}, got {self.variants!r}")
        self.erasure_config(VARIANTS["esd_x"], seed=0).validate()  # iterations and noise levels, before any run starts
        if not self.seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds!r}")
        self.inversion.validate()


def attack_cases(token: str) -> list[PromptCase]:
    """Every training phrasing with the learned token where the painter's name goes, for every object."""
    return [
        PromptCase(template.format(obj=object_phrase(shape, colour), artist=token), TARGET_STYLE, "attack", template, shape, colour)
        for template in TEMPLATES["train"]["painter"]
        for shape in SHAPES
        for colour in COLOURS
    ]


def leak_suite(model_name: str) -> list[PromptCase]:
    """Prompts an erasure never trained on that may still draw the target: on the toy world the unseen
    phrasings and every painter's artworks without the painter's name (other painters' as a control);
    on Stable Diffusion, Van Gogh works that the SD recipe's prompts never name."""
    if model_name in TOY_TIERS:
        return [case for case in toy_suite().cases if case.split == "unseen"] + leak_cases()
    return [PromptCase(prompt, TARGET_ARTIST, "artworks", "{artwork}") for prompt in SD_LEAK_PROMPTS]


def attack_suite(model_name: str, token: str) -> list[PromptCase]:
    """What the attacker asks for with the learned token: every toy object in every training phrasing,
    or on Stable Diffusion every evaluation subject, "in the style of" the token."""
    if model_name in TOY_TIERS:
        return attack_cases(token)
    template = "a painting of {subject} in the style of {token}"
    return [PromptCase(template.format(subject=s, token=token), TARGET_ARTIST, "attack", template) for s in SUBJECTS]


def attacker_pictures(model_name: str, original, count: int, seed: int, token: str, **sampling) -> tuple[torch.Tensor, list[str]]:
    """The pictures the attacker inverts from, captioned with the token: on the toy world procedural Van
    Gogh pictures; on Stable Diffusion the original model's own images for the SD recipe's prompts
    (`sampling`: steps, guidance, batch_size), standing in for scans of his paintings."""
    if model_name in TOY_TIERS:
        return toy_style_pictures(TARGET_STYLE, count, seed=seed, token=token)
    prompts = [SD_VAN_GOGH_PROMPTS[i % len(SD_VAN_GOGH_PROMPTS)] for i in range(count)]  # every prompt in turn
    pictures = generate(original, prompts, [seed + i for i in range(count)], progress=False, **sampling)
    return pictures, [f"a painting in the style of {token}"] * count


def measured_cases(per_style: int | None = None) -> list[PromptCase]:
    """What each run of the study is asked before the attack: Van Gogh's cases of every split, every
    painter's artworks, and the other styles' held-out cases (their preservation); every case, or
    `per_style` per split and style (`sample_cases`)."""
    cases = [case for case in toy_suite().cases if case.style == TARGET_STYLE or case.split == "heldout"]
    return sample_cases(cases + leak_cases(), per_style)


def variant_run(variant: str, seed: int, study: AttackStudy, work_dir: Path) -> dict:
    """Erase with one variant and seed (nothing for "original"), measure leaks and preservation, then attack."""
    model, run, judge = load_model("toy", device="cpu"), {"variant": variant, "seed": seed}, ToyJudge()
    method = VARIANTS[variant]
    if method is not None:
        run.update(timed_training(model, study.erasure_config(method, seed), work_dir / f"{variant}_seed{seed}"))
    records, _ = judge_cases(
        model, judge, measured_cases(study.cases_per_style), study.image_seeds, study.sample_steps, study.guidance, progress=False
    )
    run["before_attack"] = rates(records)
    config = replace(study.inversion, seed=seed)
    pictures, captions = attacker_pictures("toy", model, study.pictures, 10_000 + seed, config.token)
    began = time.time()
    losses = invert_concept(model, pictures, captions, config, work_dir / f"{variant}_seed{seed}_attack", progress=False)
    run["attack_s"] = round(time.time() - began, 1)
    run["attack_final_loss"] = sum(losses[-10:]) / len(losses[-10:])
    attacked, _ = judge_cases(  # every attack prompt, whatever `cases_per_style`: the study's headline
        model, judge, attack_cases(config.token), study.image_seeds, study.sample_steps, study.guidance, progress=False
    )
    run["attack"] = rates(attacked)
    return run


def pooled(runs: list[dict], key: str, split: str, styles: tuple[str, ...]) -> dict:
    """One rate over every run (seeds pooled) and style in `styles`: successes, images, Wilson 95% interval,
    and each run's own (successes, images), from which the tables give the interval with the run as the unit."""
    per_run = [pooled_counts([row for row in run[key] if row["split"] == split and row["style"] in styles], "style_match") for run in runs]
    hits, trials = sum(k for k, _ in per_run), sum(n for _, n in per_run)
    return {
        "successes": hits,
        "images": trials,
        "rate": hits / trials if trials else None,
        "interval": wilson_interval(hits, trials) if trials else None,
        "per_run": [list(counts) for counts in per_run],
    }


def summarise(runs: list[dict], variants: tuple[str, ...]) -> list[dict]:
    """Per variant: Van Gogh drawn by each kind of prompt, recovered by the attack, and other styles kept."""
    others = tuple(s for s in STYLES if s != TARGET_STYLE)
    rows = []
    for variant in variants:
        mine = [run for run in runs if run["variant"] == variant]
        rows.append(
            {
                "variant": variant,
                "seeds": [run["seed"] for run in mine],
                **{
                    f"van_gogh_{split}": pooled(mine, "before_attack", split, (TARGET_STYLE,))
                    for split in ("train", "heldout", "unseen", "artworks")
                },
                "van_gogh_after_attack": pooled(mine, "attack", "attack", (TARGET_STYLE,)),
                "others_heldout": pooled(mine, "before_attack", "heldout", others),
                "others_artworks": pooled(mine, "before_attack", "artworks", others),
            }
        )
    return rows


def run_attack_study(study: AttackStudy, work_dir: Path, progress: bool = True, workers: int = 1) -> dict:
    """Every variant with every seed, `workers` runs side by side (`map_runs`); the runs and their pooled summary."""
    study.validate()
    jobs = [(variant, seed, study, work_dir) for seed in study.seeds for variant in study.variants]
    runs = map_runs(variant_run, jobs, workers, progress, "attack study")
    return {
        "study": asdict(study),
        "recipe": asdict(study.erasure_config(VARIANTS["esd_x"], seed=0)),  # the book's variant; the others change `method`
        "summary": summarise(runs, study.variants),
        "runs": runs,
    }
