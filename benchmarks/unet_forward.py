"""Does a free speed-up make the UNet faster here? One guided forward pass, timed under each option.

    python benchmarks/unet_forward.py --model toy            # about two minutes on 2 CPU cores
    python benchmarks/unet_forward.py --model sd14-arch --device cuda

A guided sampling step (a batch of 2: concept and empty prompt) dominates an ESD iteration that
samples x_t, so this is the pass worth speeding up. Options, each against the plain one:
`inference_mode` instead of `no_grad`, channels-last memory format, bfloat16 or float16 weights
(`float16_mixed`: float16 with the attn2 tensors in float32 under autocast, as gridlib trained until
this benchmark showed it no faster than float32), and
`torch.compile` (its one-off compile time is reported separately). Prints the median of the
timed repeats per option and appends one JSON line per option to --out.
"""

import argparse
import json
import platform
import statistics
import time
from contextlib import nullcontext
from datetime import date

import torch

from gridlib.esd import trainable_parameters
from gridlib.models import load_model, sd14_random_model

OPTIONS = ("no_grad", "inference_mode", "channels_last", "bfloat16", "float16", "float16_mixed", "compile")


def guided_pass(model_name: str, device: str, option: str):
    """A zero-argument function running one guided UNet pass with `option`, and its one-off setup seconds."""
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float16_mixed": torch.float16}.get(option, torch.float32)
    model = sd14_random_model(device, dtype) if model_name == "sd14-arch" else load_model(model_name, device=device, dtype=dtype)
    text = model.encode_prompts(["a painting by Vincent van Gogh", ""])
    x = torch.randn(2, *model.latent_shape, generator=torch.Generator().manual_seed(0)).to(device, dtype)
    t = torch.tensor([500, 500], device=device)
    unet = model.unet
    if option == "channels_last":
        unet, x = unet.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    if option == "compile":
        unet = torch.compile(unet)
    if option == "float16_mixed":  # trained tensors in float32, under autocast
        for _, p in trainable_parameters(unet, "xattn"):
            p.data = p.data.float()
    context = torch.inference_mode if option == "inference_mode" else torch.no_grad
    mixed = torch.autocast(model.device.type, dtype=dtype) if option == "float16_mixed" else nullcontext()

    def run() -> None:
        with context(), mixed:
            unet(x, t, text)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    began = time.perf_counter()
    run()  # the first call pays for compilation, allocation and kernel selection
    return run, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("toy", "tiny", "sd14-arch"), default="toy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--options",
        default="no_grad,inference_mode,channels_last,bfloat16,compile",
        help=f"comma-separated, from {OPTIONS}; float16 is for GPUs",
    )
    parser.add_argument("--out", default="benchmarks/unet_forward.jsonl")
    args = parser.parse_args()
    options = args.options.split(",")
    for option in options:
        if option not in OPTIONS:
            parser.error(f"option must be one of {OPTIONS}, got {option!r}")
    rows = []
    for option in options:
        run, setup_s = guided_pass(args.model, args.device, option)
        for _ in range(3):
            run()
        seconds = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - began)
        rows.append(
            {
                "option": option,
                "model": args.model,
                "device": args.device,
                "ms_per_pass": 1000 * statistics.median(seconds),
                "first_call_s": round(setup_s, 2),
                "repeats": args.repeats,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "date": date.today().isoformat(),
                "hardware": torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine(),
            }
        )
        with open(args.out, "a") as out:
            out.write(json.dumps(rows[-1]) + "\n")
    plain = rows[0]["ms_per_pass"]
    print(f"{'option':16s} {'ms / pass':>10s} {'vs ' + rows[0]['option']:>12s} {'first call s':>13s}")
    for row in rows:
        print(f"{row['option']:16s} {row['ms_per_pass']:10.2f} {plain / row['ms_per_pass']:11.2f}x {row['first_call_s']:13.2f}")


if __name__ == "__main__":
    main()
