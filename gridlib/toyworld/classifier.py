"""The toy world's style judge: a small CNN that says which painter a 32x32 picture looks like.

It plays the part that CLIP zero-shot classification plays for Stable Diffusion: it turns
"does this still look like Van Gogh?" into a number.
"""

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
from tqdm.auto import tqdm

from ..files import save_tensors
from .world import STYLES, render_batch

CLASSIFIER_FILE = Path(__file__).parent / "assets" / "style_classifier.safetensors"


class StyleClassifier(nn.Module):
    """Three conv blocks and a linear head: images in [0, 1], (batch, 3, 32, 32) -> style logits."""

    def __init__(self, num_styles: int = len(STYLES)):
        super().__init__()
        blocks = []
        for c_in, c_out in ((3, 16), (16, 32), (32, 64)):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(64, num_styles)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3)))


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def styled_dataset(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` procedural pictures, a quarter of each style, with their style labels."""
    per_style = count // len(STYLES)
    images, labels = [], []
    for index, style in enumerate(STYLES):
        batch, _ = render_batch(per_style, seed=seed * 100 + index, style=style)
        images.append(_as_tensor(batch))
        labels.append(torch.full((per_style,), index))
    return torch.cat(images), torch.cat(labels)


def train_classifier(steps: int = 1500, batch_size: int = 128, seed: int = 0) -> tuple[StyleClassifier, float]:
    """Train on fresh procedural pictures with mild noise (generated images are never clean).

    Returns the classifier and its accuracy on 2,000 held-out pictures drawn from other seeds.
    """
    torch.manual_seed(seed)
    images, labels = styled_dataset(20_000, seed=seed + 1)
    model = StyleClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(steps), desc="style classifier"):
        index = torch.randint(len(images), (batch_size,), generator=generator)
        noise_level = torch.rand(batch_size, 1, 1, 1, generator=generator) * 0.08
        noisy = images[index] + noise_level * torch.randn(images[index].shape, generator=generator)
        loss = nn.functional.cross_entropy(model(noisy), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    test_images, test_labels = styled_dataset(2_000, seed=seed + 1000)
    accuracy = (predict_styles(model, test_images) == test_labels).float().mean().item()
    return model, accuracy


@torch.no_grad()
def predict_styles(model: StyleClassifier, images: torch.Tensor) -> torch.Tensor:
    """Style indices (into STYLES) for images in [0, 1], shape (batch, 3, 32, 32)."""
    model.eval()
    return torch.cat([model(chunk.float().cpu()).argmax(dim=1) for chunk in images.split(512)])


def save_classifier(model: StyleClassifier, path: Path = CLASSIFIER_FILE) -> None:
    save_tensors(model.state_dict(), path)


def load_classifier(path: Path = CLASSIFIER_FILE) -> StyleClassifier:
    """The shipped style classifier, read from safetensors."""
    model = StyleClassifier()
    model.load_state_dict(load_file(path))
    return model.eval()
