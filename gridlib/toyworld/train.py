"""Train the toy world's shipped models: the scene classifier (the judge), then the text-to-image model.

    python -m gridlib.toyworld.train classifier       # the judge: style, shape and colour (minutes)
    python -m gridlib.toyworld.train model            # the toy diffusion model (see --steps)

The diffusion model is trained the way SD was, at toy scale: noise a picture at a random
timestep, ask the UNet to predict that noise from the noisy picture and the caption, and drop
the caption 10% of the time so that classifier-free guidance works. The weights shipped are an
exponential moving average of the trained ones (diffusers' `EMAModel`), as diffusion models are
usually released (this book has not measured the average against the last step's weights).
Every caption names what the picture shows; a fifth of the painters' pictures are their named
artworks. Only training phrasings are used; the held-out and unseen phrasings stay unseen.
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DConditionModel
from diffusers.training_utils import EMAModel
from torch import nn
from tqdm.auto import tqdm
from transformers import CLIPTextModel, CLIPTokenizer

from ..files import save_json, save_tensors
from ..models import TOY_ASSETS, prompt_token_ids, toy_scheduler, toy_text_config, toy_unet_config
from .classifier import CLASSIFIER_FILE, save_classifier, train_classifier
from .prompts import ARTWORK_SHARE, ARTWORKS, artworks_of, training_caption
from .tokenizer import write_tokenizer
from .world import Scene, random_scene, render

CAPTION_DROPOUT = 0.1
EMA_DECAY = 0.999  # the average spans about the last thousand steps


def training_scene(rng: np.random.Generator) -> Scene:
    """A uniformly random scene; for a painter's style, one of the painter's artworks ARTWORK_SHARE of the time."""
    scene = random_scene(rng)
    artworks = artworks_of(scene.style)
    if artworks and rng.random() < ARTWORK_SHARE:
        scene = ARTWORKS[artworks[rng.integers(len(artworks))]]
    return scene


def training_batch(rng: np.random.Generator, batch_size: int) -> tuple[torch.Tensor, list[str]]:
    """Fresh random pictures in [-1, 1] and a training caption for each (some dropped to "")."""
    scenes = [training_scene(rng) for _ in range(batch_size)]
    images = np.stack([render(scene, int(rng.integers(2**31))) for scene in scenes])
    captions = ["" if rng.random() < CAPTION_DROPOUT else training_caption(scene, rng) for scene in scenes]
    return torch.from_numpy(images).permute(0, 3, 1, 2) * 2 - 1, captions


def train_toy_model(
    steps: int, batch_size: int, lr: float, seed: int, save_every: int, output: Path = TOY_ASSETS, ema_decay: float = EMA_DECAY
) -> dict:
    """Train UNet and text encoder together from scratch; save the moving average of both (and the tokenizer) to `output`."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer(Path(output) / "tokenizer"))
    text_encoder = CLIPTextModel(toy_text_config(tokenizer))
    unet = UNet2DConditionModel(**toy_unet_config())
    scheduler = toy_scheduler()
    parameters = [*unet.parameters(), *text_encoder.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=0.01)
    average = EMAModel(parameters, decay=ema_decay)
    warmup = max(1, min(200, steps // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))
    )
    losses, start = [], time.time()
    progress = tqdm(range(steps), desc="toy model")
    for step in progress:
        images, captions = training_batch(rng, batch_size)
        tokens = prompt_token_ids(tokenizer, captions)
        noise = torch.randn_like(images)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (batch_size,))
        noisy = scheduler.add_noise(images, noise, timesteps)
        prediction = unet(noisy, timesteps, text_encoder(tokens)[0]).sample
        loss = nn.functional.mse_loss(prediction, noise)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        average.step(parameters)
        losses.append(loss.item())
        progress.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if (step + 1) % save_every == 0 or step + 1 == steps:
            average.store(parameters)
            average.copy_to(parameters)
            save_tensors(unet.state_dict(), Path(output) / "unet.safetensors")
            save_tensors(text_encoder.state_dict(), Path(output) / "text_encoder.safetensors")
            average.restore(parameters)
    record = {
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "ema_decay": ema_decay,
        "seed": seed,
        "wall_time_s": round(time.time() - start, 1),
        "device": "cpu",
        "artwork_share": ARTWORK_SHARE,
        "threads": torch.get_num_threads(),
        "final_loss_mean_last_100": float(np.mean(losses[-100:])),
        "unet_parameters": sum(p.numel() for p in unet.parameters()),
        "text_encoder_parameters": sum(p.numel() for p in text_encoder.parameters()),
    }
    save_json(record, Path(output) / "toy_model_training.json")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("classifier", "model"))
    parser.add_argument("--steps", type=int, default=6000, help="6000 made the shipped weights")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ema-decay", type=float, default=EMA_DECAY)
    parser.add_argument("--save-every", type=int, default=500)
    parser.add_argument("--output", type=Path, default=TOY_ASSETS, help="folder for the weights (default: the shipped assets)")
    args = parser.parse_args()
    if args.what == "classifier":
        start = time.time()
        model, accuracy = train_classifier(seed=args.seed)
        save_classifier(model, Path(args.output) / CLASSIFIER_FILE.name)
        record = {"held_out_accuracy": accuracy, "held_out_images": 4000, "wall_time_s": round(time.time() - start, 1), "seed": args.seed}
        save_json(record, Path(args.output) / "scene_classifier_training.json")
    else:
        record = train_toy_model(args.steps, args.batch_size, args.lr, args.seed, args.save_every, args.output, args.ema_decay)
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
