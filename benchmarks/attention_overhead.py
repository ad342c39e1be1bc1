"""What does recording cross-attention cost? The attention map's examples against the difference map's, paired.

    python benchmarks/attention_overhead.py --model toy                       # about a minute on 2 CPU cores
    python benchmarks/attention_overhead.py --model sd14-arch --repeats 3     # SD1.4's architecture, random weights
    python benchmarks/attention_overhead.py --model sd14-arch --device cuda --dtype float16

Both weightings make an iteration's examples from the same frozen pass (x_t from noise, so nothing else
runs): the difference map reads the two predictions, the attention map also records every `attn2`
layer's probabilities (`concept_maps.recording_cross_attention`). The two take turns in one process;
the medians, their ratio, and the recorded tensors' size per example (the memory the map holds until
it is reduced) are printed and appended as one JSON line to --out.
"""

import argparse
import json
import platform
import statistics
import time
from datetime import date

import torch

from gridlib.concept_maps import recording_cross_attention
from gridlib.esd import frozen_predictions
from gridlib.models import load_model, sd14_random_model
from gridlib.settings import recipe
from gridlib.train import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("toy", "tiny", "sd14-arch"), default="toy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    parser.add_argument("--examples", type=int, default=3, help="examples made per frozen pass (gridlib's TARGETS_AHEAD)")
    parser.add_argument("--repeats", type=int, default=20, help="timed passes per weighting, taking turns")
    parser.add_argument("--out", default="benchmarks/attention_overhead.jsonl")
    args = parser.parse_args()

    dtype = getattr(torch, args.dtype)
    if args.model == "sd14-arch":
        model = sd14_random_model(args.device, dtype)
    else:
        model = load_model(args.model, device=args.device, dtype=dtype)
    tier = "toy" if args.model in ("toy", "tiny") else "sd14"
    trainers = {
        weighting: Trainer(model, recipe(tier, masks="none", weighting=weighting, xt_source="noise"))
        for weighting in ("difference", "attention")
    }
    trainer = trainers["attention"]  # the recorded size, from one frozen pass as training makes it (the concept's half kept)
    x_t = torch.randn((args.examples, *model.latent_shape), generator=torch.Generator().manual_seed(0)).to(args.device, dtype)
    t = torch.full((args.examples,), 500, device=args.device)
    with torch.no_grad(), recording_cross_attention(model.unet, rows=args.examples) as layers:
        frozen_predictions(model.unet, trainer.frozen, x_t, t, trainer.concepts[: args.examples], trainer.empty)
    recorded_mb = sum(probs.nelement() * probs.element_size() for probs in layers) / args.examples / 2**20

    times = {weighting: [] for weighting in trainers}
    for repeat in range(args.repeats + 1):
        for weighting, trainer in trainers.items():
            began = time.perf_counter()
            trainer.make_examples(args.examples)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            if repeat:  # the first turn warms up
                times[weighting].append(time.perf_counter() - began)
    medians = {weighting: statistics.median(values) for weighting, values in times.items()}
    on_cuda = args.device.startswith("cuda")
    record = {
        "date": date.today().isoformat(),
        "model": args.model,
        "device": torch.cuda.get_device_name() if on_cuda else f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
        "dtype": args.dtype,
        "examples_per_pass": args.examples,
        "repeats": args.repeats,
        "median_s": {weighting: round(value, 4) for weighting, value in medians.items()},
        "attention_over_difference": round(medians["attention"] / medians["difference"], 3),
        "recorded_mb_per_example": round(recorded_mb, 2),
        "attn2_layers": len(layers),
    }
    print(json.dumps(record))
    with open(args.out, "a") as handle:
        handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
