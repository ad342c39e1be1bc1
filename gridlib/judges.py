"""Judges and what they judge: the evaluation suites, the toy classifier and CLIP zero-shot.

A *judge* names the style of each generated image: the toy world's classifier for the toy model
(which also names the object's shape and colour), CLIP zero-shot classification for Stable
Diffusion. A *suite* says which styles are measured, which one is erased, and the evaluation cases
(prompts) that ask for each. `gridlib.measure` generates every case and counts how often the judge agrees.
"""

from dataclasses import dataclass

import torch

from .models import DiffusionModel
from .prompts import PromptCase
from .sampling import generate

CLIP_MODEL_ID = "openai/clip-vit-large-patch14"
JUDGE_BATCH = 16  # images per CLIP pass: the judge's memory does not grow with the number of images


@dataclass
class StyleSuite:
    """The styles to measure, which one is erased, and the evaluation cases that ask for each.

    `cases` covers every split ("train": training phrasings, on SD the erasure's own prompts for the
    target; "heldout"; and, on the toy world, "unseen"); `prompts(split)` gives their prompts per style.
    """

    styles: tuple[str, ...]
    target: str
    cases: list[PromptCase]

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(case.split for case in self.cases))

    def prompts(self, split: str) -> dict[str, list[str]]:
        if split not in self.splits:
            raise ValueError(f"split must be one of {self.splits}, got {split!r}")
        return {style: [c.prompt for c in self.cases if c.split == split and c.style == style] for style in self.styles}

    @property
    def train_prompts(self) -> dict[str, list[str]]:
        return self.prompts("train")

    @property
    def heldout_prompts(self) -> dict[str, list[str]]:
        return self.prompts("heldout")


def toy_suite() -> StyleSuite:
    """The toy world's four styles on three splits, each style asked for in every phrasing of each split.

    Van Gogh's "train" split is the toy model's training phrasings, not the erasure's prompts: those name
    no object, and these let the erasure check test that the requested content survives erasure.
    """
    from .toyworld.prompts import SPLITS, evaluation_cases
    from .toyworld.world import STYLES, TARGET_STYLE

    cases = [case for split in SPLITS for style in STYLES for case in evaluation_cases(style, split)]
    return StyleSuite(STYLES, TARGET_STYLE, cases)


def sd_suite() -> StyleSuite:
    """Stable Diffusion's styles: Van Gogh (the SD recipe's 20 prompts for training), six other
    artists and plain photographs, each with training-style and held-out phrasings (`gridlib.prompts`)."""
    from .prompts import OTHER_ARTISTS, PHOTO, SD_VAN_GOGH_PROMPTS, TARGET_ARTIST, artist_cases

    styles = (TARGET_ARTIST, *OTHER_ARTISTS, PHOTO)
    cases = [PromptCase(prompt, TARGET_ARTIST, "train", "SD recipe prompt") for prompt in SD_VAN_GOGH_PROMPTS]
    cases += [case for style in OTHER_ARTISTS + (PHOTO,) for case in artist_cases(style, heldout=False)]
    cases += [case for style in styles for case in artist_cases(style, heldout=True)]
    return StyleSuite(styles, TARGET_ARTIST, cases)


@dataclass
class Judgement:
    """What a judge saw in a batch of images, from one pass over them: each image's style, its shape and colour
    (None where the judge cannot tell), and the features in which the judge compares two images."""

    styles: list[str]
    shapes: list[str | None]
    colours: list[str | None]
    features: torch.Tensor


class ToyJudge:
    """The toy scene classifier as a judge: images -> style names; `describe` -> styles, shapes, colours and features."""

    def __init__(self):
        from .toyworld.classifier import HEADS, load_classifier

        self.labels, self.heads, self.classifier = HEADS["style"], HEADS, load_classifier()

    def describe(self, images: torch.Tensor) -> Judgement:
        """Style, shape and colour of each image and the classifier's pooled features, in one pass."""
        from .toyworld.classifier import look

        features, predicted = look(self.classifier, images)
        names = {head: [self.heads[head][i] for i in indices] for head, indices in predicted.items()}
        return Judgement(names["style"], names["shape"], names["colour"], features)

    def __call__(self, images: torch.Tensor) -> list[str]:
        return self.describe(images).styles


class ClipJudge:
    """CLIP zero-shot: each image gets the label whose text ("a painting by Rembrandt", "a photograph") it matches best."""

    def __init__(self, clip_model, processor, labels: dict[str, str]):
        if len(labels) < 2:
            raise ValueError(f"a zero-shot judge needs at least 2 labels, got {labels!r}")
        self.model, self.processor, self.labels = clip_model.eval(), processor, tuple(labels)
        texts = processor(text=list(labels.values()), return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            text_features = self.model.get_text_features(**{k: v.to(self.model.device) for k, v in texts.items()})
        text_features = getattr(text_features, "pooler_output", text_features)
        self.text_features = torch.nn.functional.normalize(text_features, dim=-1)

    @classmethod
    def from_pretrained(
        cls,
        model_id: str = CLIP_MODEL_ID,
        labels: dict[str, str] | None = None,
        device: str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> "ClipJudge":
        """CLIP from the hub or a local folder (safetensors only); `labels` default to the SD evaluation's."""
        from transformers import CLIPModel, CLIPProcessor

        from .prompts import judge_labels

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = CLIPModel.from_pretrained(model_id, use_safetensors=True, torch_dtype=dtype).to(device)
        return cls(model, CLIPProcessor.from_pretrained(model_id), labels or judge_labels())

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """CLIP's unit-length image features, JUDGE_BATCH images per pass, on the CPU."""
        features = []
        for chunk in images.split(JUDGE_BATCH):
            pixels = self.processor(images=list(chunk.permute(0, 2, 3, 1).numpy()), do_rescale=False, return_tensors="pt")
            output = self.model.get_image_features(pixel_values=pixels.pixel_values.to(self.model.device, self.model.dtype))
            output = getattr(output, "pooler_output", output)
            features.append(torch.nn.functional.normalize(output.float(), dim=-1).cpu())
        return torch.cat(features)

    def describe(self, images: torch.Tensor) -> Judgement:
        """Each image's label and CLIP's features, in one pass; zero-shot CLIP does not check shape or colour."""
        features = self.embed(images)
        styles = [self.labels[i] for i in (features @ self.text_features.float().cpu().T).argmax(dim=1)]
        return Judgement(styles, [None] * len(styles), [None] * len(styles), features)

    def __call__(self, images: torch.Tensor) -> list[str]:
        return self.describe(images).styles


def comparison_images(
    original: DiffusionModel, erased: DiffusionModel, prompts: list[str], seeds: list[int], **sampling
) -> tuple[torch.Tensor, list[str]]:
    """For each prompt, the original model's images on `seeds`, then the erased model's on the same seeds:
    the rows of a comparison grid and their titles. `sampling` (steps, guidance, batch_size) goes to `generate`."""
    images, titles = [], []
    for prompt in prompts:
        for name, model in (("original", original), ("erased", erased)):
            images.append(generate(model, [prompt] * len(seeds), list(seeds), progress=False, **sampling))
            titles.append(f"{name}: {prompt}")
    return torch.cat(images), titles


def lpips_distance(original: torch.Tensor, erased: torch.Tensor) -> torch.Tensor | None:
    """Per-image LPIPS between original and erased images, or None where the optional `lpips` package (which needs
    torchvision) is not installed: `pip install gridlib[eval]`, as the Colab set-up cell does."""
    try:
        import lpips
    except ImportError:
        return None
    metric = lpips.LPIPS(net="alex", verbose=False)
    with torch.no_grad():
        return metric(original * 2 - 1, erased * 2 - 1).flatten()
