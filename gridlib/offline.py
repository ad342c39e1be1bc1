"""Offline stand-ins for the hub, so that every Stable Diffusion code path runs without a download.

`save_sd_layout` writes any SD-shaped `DiffusionModel` (in tests `tiny_sd_model`, the tiny one with SD's
77-token prompts) as a diffusers folder laid out like `CompVis/stable-diffusion-v1-4`; `load_model(folder)` then takes the very
branch that loads SD1.4. `save_tiny_clip` writes a small random CLIP that `ClipJudge.from_pretrained`
reads as it reads CLIP ViT-L/14. Both write to a temporary folder and rename it into place.
"""

import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

from .models import TOY_ASSETS, DiffusionModel, tiny_model


def _write_folder(folder: Path, write) -> Path:
    """Call `write(temporary_folder)`, then move the finished folder to `folder` (replacing it)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        write(staging)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def tiny_sd_model(seed: int = 0) -> DiffusionModel:
    """The tiny model with prompts as long as SD's (77 tokens), for the SD stand-in: the SD recipe's longest
    prompts would lose the painter's name to the tiny model's 20-token truncation."""
    return tiny_model(seed, prompt_tokens=77)


def save_sd_layout(model: DiffusionModel, folder: str | Path) -> Path:
    """Write `model` (which must have a VAE) as a diffusers SD folder: unet/, vae/, text_encoder/, tokenizer/, scheduler/."""
    if model.vae is None:
        raise ValueError(f"an SD layout needs a VAE; model {model.name!r} works in pixel space (use load_model('tiny'))")

    def write(staging: Path) -> None:
        for part in ("unet", "vae", "text_encoder"):
            getattr(model, part).save_pretrained(staging / part, safe_serialization=True)
        model.tokenizer.save_pretrained(staging / "tokenizer")
        model.scheduler.save_pretrained(staging / "scheduler")

    return _write_folder(folder, write)


def save_tiny_clip(folder: str | Path, seed: int = 0) -> Path:
    """A random CLIP (width 32, one layer, 32-px images) with a processor, saved as CLIP ViT-L/14 is on the hub."""
    torch.manual_seed(seed)
    tokenizer = CLIPTokenizer.from_pretrained(TOY_ASSETS / "tokenizer")
    config = CLIPConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=tokenizer.model_max_length,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        projection_dim=16,
    )
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})

    def write(staging: Path) -> None:
        CLIPModel(config).save_pretrained(staging, safe_serialization=True)
        CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(staging)

    return _write_folder(folder, write)


def clip_vit_l14_config() -> CLIPConfig:
    """CLIP ViT-L/14's configuration (the SD judge's), so its memory can be measured without the download."""
    return CLIPConfig(
        text_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77),
        vision_config=dict(
            hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, image_size=224, patch_size=14
        ),
        projection_dim=768,
    )


def random_clip_processor() -> CLIPProcessor:
    """CLIP's image preprocessing (224 px) with the toy tokenizer: shapes, not meaning, for offline measurements."""
    return CLIPProcessor(
        image_processor=CLIPImageProcessor(), tokenizer=CLIPTokenizer.from_pretrained(TOY_ASSETS / "tokenizer", model_max_length=77)
    )
