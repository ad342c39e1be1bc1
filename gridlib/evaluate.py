"""Measuring an erasure: does the target style disappear, and do the other styles survive?

A *judge* names the style of each generated image: the toy style classifier for the toy model,
CLIP zero-shot artist classification for Stable Diffusion. For each style we generate images
from prompts that ask for it and count how often the judge agrees:
- the **erasure rate** is that share for the target style (lower is better after erasing);
- the **preservation rate** is that share for every other style (it should not drop).
Both are measured on the training phrasings and on held-out phrasings that training never saw.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .models import DiffusionModel
from .sampling import generate

COMPARISON_SEEDS = (5000, 5001, 5002, 5003, 5004)
SD_ARTISTS = ("Vincent van Gogh", "Claude Monet", "Pablo Picasso", "Rembrandt", "Andy Warhol", "Katsushika Hokusai")
SD_SUBJECTS = ("a starry night over a village", "a portrait of a woman", "a vase of sunflowers", "a harbour with boats")
CLIP_MODEL_ID = "openai/clip-vit-large-patch14"
# The pixel-space toy model over-saturates at SD's guidance: measured on held-out prompts (24 images per
# style), guidance 2.5 gave 100% fidelity for every style, 5.0 gave 44-100%, 8.0 gave 0-96%.
TOY_GUIDANCE = 2.5


@dataclass
class StyleSuite:
    """The styles to measure, which one is erased, and the prompts that ask for each."""

    styles: tuple[str, ...]
    target: str
    train_prompts: dict[str, list[str]]
    heldout_prompts: dict[str, list[str]]

    def prompts(self, split: str) -> dict[str, list[str]]:
        if split not in ("train", "heldout"):
            raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
        return self.train_prompts if split == "train" else self.heldout_prompts


def toy_suite() -> StyleSuite:
    """The toy world's four styles; training prompts are the erasure's own for Van Gogh."""
    from .toyworld.prompts import VAN_GOGH_PROMPTS, evaluation_prompts
    from .toyworld.world import STYLES, TARGET_STYLE

    train = {style: evaluation_prompts(style, heldout=False) for style in STYLES}
    train[TARGET_STYLE] = list(VAN_GOGH_PROMPTS)
    return StyleSuite(STYLES, TARGET_STYLE, train, {style: evaluation_prompts(style, heldout=True) for style in STYLES})


def sd_suite(artists: tuple[str, ...] = SD_ARTISTS) -> StyleSuite:
    """Artists for Stable Diffusion: training-style prompts, and held-out subject phrasings."""
    from .toyworld.prompts import VAN_GOGH_PROMPTS

    train = {a: [f"a painting by {a}", f"a painting in the style of {a}", f"{a} style artwork"] for a in artists}
    train[artists[0]] = list(VAN_GOGH_PROMPTS)
    heldout = {a: [f"{s}, painted by {a}" for s in SD_SUBJECTS] + [f"{a} masterpiece of {s}" for s in SD_SUBJECTS] for a in artists}
    return StyleSuite(tuple(artists), artists[0], train, heldout)


class ToyJudge:
    """The toy style classifier as a judge: images -> style names."""

    def __init__(self):
        from .toyworld.classifier import load_classifier
        from .toyworld.world import STYLES

        self.labels, self.classifier = STYLES, load_classifier()

    def __call__(self, images: torch.Tensor) -> list[str]:
        from .toyworld.classifier import predict_styles

        return [self.labels[i] for i in predict_styles(self.classifier, images)]


class ClipJudge:
    """CLIP zero-shot: each image gets the artist whose "a painting by {artist}" text it matches best."""

    def __init__(self, clip_model, processor, artists: tuple[str, ...] = SD_ARTISTS):
        if len(artists) < 2:
            raise ValueError(f"a zero-shot judge needs at least 2 artists, got {artists!r}")
        self.model, self.processor, self.labels = clip_model.eval(), processor, tuple(artists)
        texts = processor(text=[f"a painting by {a}" for a in artists], return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            text_features = self.model.get_text_features(**{k: v.to(self.model.device) for k, v in texts.items()})
        text_features = getattr(text_features, "pooler_output", text_features)
        self.text_features = torch.nn.functional.normalize(text_features, dim=-1)

    @classmethod
    def from_pretrained(cls, model_id: str = CLIP_MODEL_ID, artists: tuple[str, ...] = SD_ARTISTS, device: str | None = None) -> "ClipJudge":
        from transformers import CLIPModel, CLIPProcessor

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return cls(CLIPModel.from_pretrained(model_id, use_safetensors=True).to(device), CLIPProcessor.from_pretrained(model_id), artists)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> list[str]:
        pixels = self.processor(images=list(images.permute(0, 2, 3, 1).numpy()), do_rescale=False, return_tensors="pt")
        image_features = self.model.get_image_features(pixel_values=pixels.pixel_values.to(self.model.device))
        image_features = getattr(image_features, "pooler_output", image_features)
        scores = torch.nn.functional.normalize(image_features, dim=-1) @ self.text_features.T
        return [self.labels[i] for i in scores.argmax(dim=1).cpu()]


def style_rates(model: DiffusionModel, judge: Callable[[torch.Tensor], list[str]], prompts: dict[str, list[str]],
                samples_per_style: int, first_seed: int = 5000, steps: int = 50, guidance: float = 7.5,
                progress: bool = True) -> dict[str, float]:
    """For each style, the share of images generated from its prompts that the judge calls that style.

    Prompts are cycled to `samples_per_style` images, seeded first_seed, first_seed + 1, ...
    """  # fmt: skip
    if samples_per_style < 1:
        raise ValueError(f"samples_per_style must be a positive integer, got {samples_per_style!r}")
    rates = {}
    for style, style_prompts in prompts.items():
        chosen = [style_prompts[i % len(style_prompts)] for i in range(samples_per_style)]
        seeds = [first_seed + i for i in range(samples_per_style)]
        images = generate(model, chosen, seeds, steps=steps, guidance=guidance, batch_size=64, progress=progress)
        rates[style] = sum(label == style for label in judge(images)) / samples_per_style
    return rates


def erasure_table(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], target: str) -> list[dict]:
    """Rows of (split, style, role, before, after, change in points) from two `style_rates` results per split."""
    rows = []
    for split in before:
        for style, rate in before[split].items():
            rows.append({
                "split": split, "style": style, "role": "erased" if style == target else "preserved",
                "before": rate, "after": after[split][style], "change_points": round(100 * (after[split][style] - rate), 1),
            })  # fmt: skip
    return rows


def split_rates(model: DiffusionModel, judge: Callable[[torch.Tensor], list[str]], suite: StyleSuite,
                samples_per_style: int, steps: int = 50, guidance: float = 7.5) -> dict[str, dict[str, float]]:
    """`style_rates` on the suite's training and on its held-out prompts, as `erasure_table` takes them."""  # fmt: skip
    return {split: style_rates(model, judge, suite.prompts(split), samples_per_style, steps=steps, guidance=guidance, progress=False)
            for split in ("train", "heldout")}  # fmt: skip


def compare_models(original: DiffusionModel, erased: DiffusionModel, judge: Callable[[torch.Tensor], list[str]],
                   suite: StyleSuite, samples_per_style: int, steps: int = 50, guidance: float = 7.5) -> list[dict]:
    """The before/after `erasure_table` on training and held-out prompts, both models on the same seeds."""  # fmt: skip
    before = split_rates(original, judge, suite, samples_per_style, steps, guidance)
    return erasure_table(before, split_rates(erased, judge, suite, samples_per_style, steps, guidance), suite.target)


def markdown_table(rows: list[dict], percent: tuple[str, ...] = ()) -> str:
    """A list of dicts as a Markdown table; the `percent` columns hold rates in [0, 1], shown as percentages."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{100 * row[c]:.1f}%" if c in percent else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def lpips_distance(original: torch.Tensor, erased: torch.Tensor) -> torch.Tensor | None:
    """Per-image LPIPS between original and erased images, or None (with a message) where lpips cannot load."""
    try:
        import lpips
    except ImportError as error:
        print(f"LPIPS skipped: the lpips package could not load ({error}); `pip install gridlib[eval]` on Colab enables it.")
        return None
    metric = lpips.LPIPS(net="alex", verbose=False)
    with torch.no_grad():
        return metric(original * 2 - 1, erased * 2 - 1).flatten()
