"""The toy world's judge: a small CNN that says which style a 32x32 picture is painted in, and what it shows.

It plays the part that CLIP zero-shot classification plays for Stable Diffusion: it turns "does
this still look like Van Gogh?" into a number, and, with its shape and colour heads, "is it still
the orange circle the prompt asked for?" into two more. Its pooled features also give a distance
between two pictures that cares about what they show rather than about single pixels.
"""

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
from tqdm.auto import tqdm

from ..files import save_tensors
from .world import COLOURS, SHAPES, STYLES, render_batch

CLASSIFIER_FILE = Path(__file__).parent / "assets" / "scene_classifier.safetensors"
HEADS = {"style": STYLES, "shape": SHAPES, "colour": tuple(COLOURS)}


class SceneClassifier(nn.Module):
    """Three conv blocks, then one linear head per question: images in [0, 1], (batch, 3, 32, 32) ->
    a dict of logits for style, shape and colour."""

    def __init__(self):
        super().__init__()
        blocks = []
        for c_in, c_out in ((3, 32), (32, 64), (64, 96)):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks)
        self.heads = nn.ModuleDict({name: nn.Linear(96, len(labels)) for name, labels in HEADS.items()})

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled features, (batch, 96): the space in which the judge compares pictures."""
        return self.features(images).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.embed(images)
        return {name: head(features) for name, head in self.heads.items()}


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def labelled_dataset(count: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """`count` procedural pictures, a quarter of each style, with their style, shape and colour labels."""
    per_style = count // len(STYLES)
    images, labels = [], {name: [] for name in HEADS}
    for index, style in enumerate(STYLES):
        batch, scenes = render_batch(per_style, seed=seed * 100 + index, style=style)
        images.append(_as_tensor(batch))
        for name, names in HEADS.items():
            labels[name] += [names.index(getattr(scene, name)) for scene in scenes]
    return torch.cat(images), {name: torch.tensor(values) for name, values in labels.items()}


def train_classifier(steps: int = 4000, batch_size: int = 128, seed: int = 0) -> tuple[SceneClassifier, dict[str, dict[str, float]]]:
    """Train all three heads on procedural pictures with mild noise (generated images are never clean).

    Returns the classifier and its accuracy per head and class on 4,000 held-out pictures from other seeds.
    """
    torch.manual_seed(seed)
    images, labels = labelled_dataset(24_000, seed=seed + 1)
    model = SceneClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)  # small final steps settle the hard pairs
    generator = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(steps), desc="scene classifier"):
        index = torch.randint(len(images), (batch_size,), generator=generator)
        noise_level = torch.rand(batch_size, 1, 1, 1, generator=generator) * 0.08
        noisy = images[index] + noise_level * torch.randn(images[index].shape, generator=generator)
        logits = model(noisy)
        loss = sum(nn.functional.cross_entropy(logits[name], labels[name][index]) for name in HEADS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model.eval(), per_class_accuracy(model, *labelled_dataset(4_000, seed=seed + 1000))


def per_class_accuracy(model: SceneClassifier, images: torch.Tensor, labels: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """For each head and each of its classes, the share of pictures of that class it names correctly."""
    _, predictions = look(model, images)
    return {
        name: {label: (predictions[name][labels[name] == i] == i).float().mean().item() for i, label in enumerate(HEADS[name])}
        for name in HEADS
    }


@torch.no_grad()
def look(model: SceneClassifier, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One pass of the judge over images in [0, 1], (batch, 3, 32, 32): its features, (batch, 96), and each
    head's class indices (into HEADS[name])."""
    model.eval()
    features = torch.cat([model.embed(chunk.float().cpu()) for chunk in images.split(512)])
    return features, {name: head(features).argmax(dim=1) for name, head in model.heads.items()}


def save_classifier(model: SceneClassifier, path: Path = CLASSIFIER_FILE) -> None:
    save_tensors(model.state_dict(), path)


def load_classifier(path: Path = CLASSIFIER_FILE) -> SceneClassifier:
    """The shipped scene classifier, read from safetensors."""
    model = SceneClassifier()
    model.load_state_dict(load_file(path))
    return model.eval()
