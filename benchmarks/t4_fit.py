"""Does the whole book fit a T4? Chapters 3 and 4 at their SD defaults, on SD1.4's full architecture.

    python benchmarks/t4_fit.py --model sd14-arch --device cuda     # on a GPU: the figures for book/setup.ipynb
    python benchmarks/t4_fit.py --model tiny --device cpu           # the same code path in seconds (tests)

Everything is built offline from configurations with random weights: SD1.4's UNet, VAE and CLIP
text encoder (`models.sd14_random_model`) and the CLIP ViT-L/14 judge (`offline.clip_vit_l14_config`),
in float16 on a GPU. Shapes, not weights, decide memory and time, so the figures are the real
model's. Two phases, each with its peak memory measured from a reset:
- chapter 3: one model, `recipe("sd14")` trained for a few iterations (x_t sampled in 50 DDIM steps);
- chapter 4: the original and the erased model side by side plus the judge, generating one batch
  of the SD tier's size at its DDIM steps and guidance, decoding and judging it.
One JSON row per run is appended to --out.
"""

import argparse
import copy
import json
import platform
import resource
import time
from datetime import datetime
from pathlib import Path

import torch

from gridlib.judges import ClipJudge
from gridlib.models import load_model, sd14_random_model
from gridlib.offline import clip_vit_l14_config, random_clip_processor, save_tiny_clip
from gridlib.prompts import TEST_PROMPT, judge_labels
from gridlib.sampling import generate
from gridlib.settings import SD, evaluation_images, recipe
from gridlib.train import Trainer

GIB = 2**30


def peak_memory_gib(device: torch.device) -> float:
    """Peak allocated GPU memory since the last reset, or this process's peak resident memory on a CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / GIB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def build(model_name: str, device: torch.device, dtype: torch.dtype, work: Path):
    """The model (with its VAE) and the CLIP judge, random, of SD1.4's shapes or the tiny stand-in's."""
    torch.manual_seed(0)
    if model_name == "sd14-arch":
        from transformers import CLIPModel

        model = sd14_random_model(device, dtype, vae=True)
        with torch.device(device):
            clip = CLIPModel(clip_vit_l14_config()).to(dtype)
        return model, ClipJudge(clip, random_clip_processor(), judge_labels())
    model = load_model("tiny", device=device, dtype=dtype)
    return model, ClipJudge.from_pretrained(str(save_tiny_clip(work / "clip")), device=str(device), dtype=dtype)


def measure(args: argparse.Namespace) -> dict:
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    model, judge = build(args.model, device, dtype, Path(args.work_dir))
    row = {
        "model": args.model,
        "device": str(device),
        "dtype": args.dtype,
        "batch_size": SD.batch_size,
        "sample_steps": args.sample_steps,
        "scheduler": args.scheduler,
        "iterations": args.iterations,
    }

    reset_peak(device)
    trainer = Trainer(model, recipe("sd14", iterations=args.iterations))
    began = time.perf_counter()
    for _ in range(args.iterations):
        trainer.step()
    row["chapter3_s_per_iteration"] = (time.perf_counter() - began) / args.iterations
    row["chapter3_peak_GiB"] = round(peak_memory_gib(device), 3)
    for _, p in trainer.named:  # as train_erasure leaves it: the trained model back in its own precision
        p.requires_grad_(False)
        p.data = p.data.to(dtype)
    del trainer

    original = copy.deepcopy(model)  # chapter 4 holds the original and the erased model at once
    reset_peak(device)
    began, images = time.perf_counter(), []
    for each in (original, model):
        seeds = list(range(5000, 5000 + SD.batch_size))
        images.append(
            generate(
                each,
                [TEST_PROMPT] * SD.batch_size,
                seeds,
                steps=args.sample_steps,
                guidance=SD.guidance,
                batch_size=SD.batch_size,
                progress=False,
                scheduler=args.scheduler,
            )
        )
    labels = judge(torch.cat(images))
    seconds_per_image = (time.perf_counter() - began) / (2 * SD.batch_size)
    chapter4_images = evaluation_images("sd14")
    row.update(
        chapter4_peak_GiB=round(peak_memory_gib(device), 3),
        chapter4_s_per_image=seconds_per_image,
        chapter4_images=chapter4_images,
        chapter4_estimated_min=round(chapter4_images * seconds_per_image / 60, 1),
        judged=len(labels),
        image_size=list(images[0].shape[-2:]),
        hardware=torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        torch=torch.__version__,
        date=datetime.now().isoformat(timespec="seconds"),
    )
    return row


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("sd14-arch", "tiny"), default="sd14-arch")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=("float16", "bfloat16", "float32"), default=None, help="default: float16 on a GPU, else float32")
    parser.add_argument("--iterations", type=int, default=3, help="training iterations timed in chapter 3's phase")
    parser.add_argument("--sample-steps", type=int, default=SD.sample_steps, help="scheduler steps per image in chapter 4's phase")
    parser.add_argument("--scheduler", choices=("ddim", "dpm++"), default=SD.scheduler, help="chapter 4's scheduler (default: SD's)")
    parser.add_argument("--work-dir", default="runs/t4_fit")
    parser.add_argument("--out", default="benchmarks/t4_fit.jsonl")
    args = parser.parse_args(argv)
    for name in ("iterations", "sample_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    args.dtype = args.dtype or ("float16" if args.device.startswith("cuda") else "float32")
    row = measure(args)
    with open(args.out, "a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))
    return row


if __name__ == "__main__":
    main()
