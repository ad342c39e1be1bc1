"""Time and memory of one ESD-X training iteration: gridlib against the original two-model algorithm.

    python benchmarks/esd_step.py --model toy --quick          # under a minute on 2 CPU cores
    python benchmarks/esd_step.py --model toy --rounds 3       # the same, 10 iterations, 3 interleaved rounds
    python benchmarks/esd_step.py --model toy --paired         # speed-ups only, implementations taking turns in one process
    python benchmarks/esd_step.py --model sd14-arch --device cuda --dtype float16 --ddim-steps 50

Three implementations run on the same model, config and random draws (they compute the same
loss; see tests/test_reference.py): `reference` (the original two-model algorithm: a frozen copy
of the whole UNet, separate passes, gradients for every UNet weight, as in esd_sd.py, but in
float32 at the model's own resolution, where esd_sd.py runs bfloat16 and samples x_t at 1024 px),
`reference-attn2-grads` (the same with the untrained weights
frozen, to show that one change on its own) and `gridlib`; a fourth, `gridlib-checkpointed`
(gridlib with diffusers' gradient checkpointing), runs when --implementations names it. Each
(implementation, x_t source) runs in a fresh process, so peak memory is its own: RSS on CPU,
torch.cuda.max_memory_allocated on GPU. With --rounds N the processes run N times in rotation
(every implementation once per round), so a machine whose speed drifts slows all of them alike;
each setting's line then holds the median over rounds.
Beside it, the activations autograd keeps for the backward pass are counted exactly (distinct
storages, weights excluded) during the warm-up iterations: the part of a step's memory that grows
with image size, the same on any device. Seconds per iteration is the mean over the timed
iterations, after warm-up: not the median, because on the noise route gridlib makes the targets of
several iterations in one pass (`--targets-ahead`, default `gridlib.train.TARGETS_AHEAD` = 3), so one
iteration in three is slower than the others; there, warm-up and timed iterations are rounded up to
whole batches. On a GPU, the time its kernels run per iteration is measured too (`gpu_busy_seconds`).
One JSON line per setting is appended to --out, and a table is printed.
"""

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from datetime import date, datetime

import torch

from gridlib.models import load_model, sd14_random_model
from gridlib.reference import ReferenceTrainer
from gridlib.settings import recipe
from gridlib.train import TARGETS_AHEAD, Trainer

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
IMPLEMENTATIONS = ("reference", "reference-attn2-grads", "gridlib", "gridlib-checkpointed", "gridlib-unbatched")


def build_model(name: str, device: str, dtype: torch.dtype):
    if name == "sd14-arch":
        return sd14_random_model(device, dtype)
    return load_model(name, device=device, dtype=dtype)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@contextmanager
def saved_for_backward(counts: list[int], weights: set[int]):
    """Append the bytes of the tensors autograd saves inside this block (each storage once, weights excluded)."""
    storages = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield
    counts.append(sum(storages.values()))


def gpu_busy_seconds(function, repeats: int) -> float:
    """Seconds of kernels the GPU runs per call of `function`: its time with the gaps between launches left out.

    On a fast GPU a batch-1 UNet pass spends more time launching kernels than running them, so
    wall time measures the host's Python as much as the GPU; this is the part a slower GPU scales.
    """
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as profiler:
        for _ in range(repeats):
            function()
        torch.cuda.synchronize()
    return sum(event.self_device_time_total for event in profiler.key_averages()) / 1e6 / repeats


def whole_batches(args: argparse.Namespace, xt_source: str) -> argparse.Namespace:
    """Where gridlib draws examples ahead (x_t from noise, or sampled by the frozen model), warm-up and timed
    iterations rounded up to whole batches of its examples."""
    if xt_source != "noise" and args.sampler != "frozen":
        return args
    ahead = args.targets_ahead
    batches = {name: -(-getattr(args, name) // ahead) * ahead for name in ("warmup", "iterations")}
    return argparse.Namespace(**{**vars(args), **batches})


def model_dtype(implementation: str, args: argparse.Namespace) -> torch.dtype:
    """The reference runs in --reference-dtype (float32 by default, as the paper's code; bfloat16 as esd_sd.py);
    gridlib in --dtype. Equal dtypes compare the algorithms alone, at equal precision."""
    return DTYPES[args.reference_dtype if implementation.startswith("reference") else args.dtype]


def targets_ahead(implementation: str, args: argparse.Namespace) -> int | None:
    """How many iterations' examples gridlib draws at once: 1 for `gridlib-unbatched`; none for the reference."""
    if implementation.startswith("reference"):
        return None
    return 1 if implementation == "gridlib-unbatched" else args.targets_ahead


def make_trainer(implementation: str, xt_source: str, args: argparse.Namespace) -> Trainer | ReferenceTrainer:
    """A fresh model and the trainer of one implementation; every implementation gets the same weights and draws."""
    torch.manual_seed(0)
    model = build_model(args.model, args.device, model_dtype(implementation, args))
    iterations = args.warmup + args.iterations + args.targets_ahead  # and a last batch for gpu_busy_seconds
    config = recipe(
        "toy" if args.model in ("toy", "tiny") else "sd14",
        xt_source=xt_source,
        ddim_steps=args.ddim_steps,
        iterations=iterations,
        sampler=args.sampler,
    )
    if implementation.startswith("reference"):
        return ReferenceTrainer(model, config, all_gradients=implementation == "reference")
    if implementation == "gridlib-checkpointed":  # recompute activations in backward instead of keeping them
        model.unet.enable_gradient_checkpointing()
    return Trainer(model, config, targets_ahead=targets_ahead(implementation, args))


def setting_fields(implementation: str, xt_source: str, args: argparse.Namespace) -> dict:
    """What every result row says about the setting it measured and the machine it ran on."""
    return {
        "implementation": implementation,
        "model": args.model,
        "xt_source": xt_source,
        "device": args.device,
        "dtype": str(model_dtype(implementation, args)).removeprefix("torch."),
        "ddim_steps": args.ddim_steps,
        "iterations_timed": args.iterations,
        "sampler": args.sampler,
        "targets_ahead": targets_ahead(implementation, args),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": date.today().isoformat(),
        "hardware": torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine(),
    }


def worker(args: argparse.Namespace) -> dict:
    """One setting in this process: build, warm up, time, measure peak memory."""
    args = whole_batches(args, args.xt_source)
    trainer = make_trainer(args.implementation, args.xt_source, args)
    seconds, making_xt = [], []  # per iteration: all of it, and the part spent making x_t
    make_xt = trainer.make_xt

    def timed_make_xt(*inputs):  # making x_t is the same work in both; time it to see the rest apart
        began = time.perf_counter()
        result = make_xt(*inputs)
        synchronize(args.device)
        making_xt[-1] += time.perf_counter() - began
        return result

    trainer.make_xt = timed_make_xt
    weights = {p.untyped_storage().data_ptr() for p in trainer.model.unet.parameters()}
    saved: list[int] = []
    for index in range(args.warmup + args.iterations):
        warming_up = index < args.warmup  # saved activations are counted here, so the hook's cost stays out of the timing
        synchronize(args.device)
        making_xt.append(0.0)
        began = time.perf_counter()
        with saved_for_backward(saved, weights) if warming_up else nullcontext():
            trainer.step()
        synchronize(args.device)
        seconds.append(time.perf_counter() - began)
    trainer.make_xt = make_xt  # the iterations gpu_busy_seconds runs below are not part of the timing
    gpu_busy = None
    if args.device.startswith("cuda"):
        peak, kind = torch.cuda.max_memory_allocated() / 2**30, "cuda_max_allocated_GiB"
        gpu_busy = gpu_busy_seconds(trainer.step, args.targets_ahead)  # after the timing: the profiler slows the host down
    else:
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "cpu_peak_rss_GiB"
    return {
        **setting_fields(args.implementation, args.xt_source, args),
        "s_per_iteration": statistics.fmean(seconds[args.warmup :]),
        "s_without_xt": statistics.fmean(total - xt for total, xt in zip(seconds[args.warmup :], making_xt[args.warmup :], strict=True)),
        "gpu_busy_s_per_iteration": gpu_busy,
        "peak_memory_GiB": round(peak, 3),
        "memory_kind": kind,
        "saved_for_backward_GiB": round(max(saved) / 2**30, 6),
        "losses": trainer.losses,
    }


def paired_times(args: argparse.Namespace, xt_source: str, implementations: list[str]) -> list[dict]:
    """Every implementation in this one process, taking turns iteration by iteration: times only, no memory.

    The i-th iterations of all implementations use the same prompt, noise and stop step and run back
    to back, so the ratio of their summed times (the `paired_speedup` against the first
    implementation) holds even on a machine whose speed drifts between processes.
    """
    args = whole_batches(args, xt_source)
    trainers = {name: make_trainer(name, xt_source, args) for name in implementations}
    seconds: dict[str, list[float]] = {name: [] for name in implementations}
    for index in range(args.warmup + args.iterations):
        for name, trainer in trainers.items():
            synchronize(args.device)
            began = time.perf_counter()
            trainer.step()
            synchronize(args.device)
            if index >= args.warmup:
                seconds[name].append(time.perf_counter() - began)
    baseline = sum(seconds[implementations[0]])
    return [
        {
            **setting_fields(name, xt_source, args),
            "s_per_iteration": statistics.fmean(seconds[name]),
            "paired_speedup": baseline / sum(seconds[name]),
            "losses": trainers[name].losses,
        }
        for name in implementations
    ]


def merge_rounds(rounds: list[dict]) -> dict:
    """One setting's rows from several rounds as one row: median times, the highest memory, each round's time kept."""
    merged = dict(rounds[0])
    for key in ("s_per_iteration", "s_without_xt", "gpu_busy_s_per_iteration"):
        if merged[key] is not None:
            merged[key] = statistics.median(row[key] for row in rounds)
    for key in ("peak_memory_GiB", "saved_for_backward_GiB"):
        merged[key] = max(row[key] for row in rounds)
    merged["rounds"] = len(rounds)
    merged["s_per_iteration_by_round"] = [row["s_per_iteration"] for row in rounds]
    return merged


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("toy", "tiny", "sd14-arch"), default="toy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="float32", help="gridlib's model dtype (default float32)")
    parser.add_argument(
        "--reference-dtype",
        choices=tuple(DTYPES),
        default="float32",
        help="the reference's model dtype (default float32; esd_sd.py: bfloat16)",
    )
    parser.add_argument("--iterations", type=int, default=10, help="timed iterations per setting")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--ddim-steps", type=int, default=20)
    parser.add_argument("--sources", default="sample,noise", help="x_t sources to run, comma-separated")
    parser.add_argument(
        "--targets-ahead",
        type=int,
        default=TARGETS_AHEAD,
        help=f"noise route: iterations whose targets gridlib makes in one frozen pass (default {TARGETS_AHEAD})",
    )
    parser.add_argument(
        "--implementations",
        help=f"comma-separated, from {IMPLEMENTATIONS}; the first is the baseline of "
        "the speed-ups (default: reference,reference-attn2-grads,gridlib)",
    )
    parser.add_argument(
        "--sampler",
        choices=("trained", "frozen"),
        default="trained",
        help="which model samples x_t on the sampling route (default trained)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="times to run every setting, in rotation (default 1)")
    parser.add_argument("--quick", action="store_true", help="5 timed iterations, 1 warm-up, reference and gridlib only")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="all implementations in one process, taking turns each "
        "iteration: steady speed-ups on a drifting machine, no memory (rows go to benchmarks/paired.jsonl)",
    )
    parser.add_argument("--out", help="JSON lines file to append to (default: benchmarks/results.jsonl)")
    parser.add_argument("--implementation", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--xt-source", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.warmup = 5, 1
    if args.warmup < 1:
        parser.error(f"--warmup must be at least 1 (the saved activations are counted during warm-up), got {args.warmup}")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.targets_ahead < 1:
        parser.error(f"--targets-ahead must be at least 1, got {args.targets_ahead}")
    if args.paired and args.rounds != 1:
        parser.error(f"--paired times every implementation in one process, in turns; --rounds does not apply to it, got {args.rounds}")
    default = "reference,gridlib" if args.quick else "reference,reference-attn2-grads,gridlib"
    implementations = (args.implementations or default).split(",")
    for name in implementations:
        if name not in IMPLEMENTATIONS:
            parser.error(f"implementation must be one of {IMPLEMENTATIONS}, got {name!r}")
    if args.implementation:  # inside a worker process
        print(json.dumps(worker(args)))
        return
    run = datetime.now().isoformat(timespec="seconds")  # `run` groups this command's rows in the book's table
    if args.paired:
        rows = [{**row, "run": run} for source in args.sources.split(",") for row in paired_times(args, source, implementations)]
        with open(args.out or "benchmarks/paired.jsonl", "a") as out:
            out.writelines(json.dumps(row) + "\n" for row in rows)
        print(f"\n{'x_t':7s} {'implementation':22s} {'s/iter':>9s}  paired speed-up (ratio of summed times)")
        for row in rows:
            print(f"{row['xt_source']:7s} {row['implementation']:22s} {row['s_per_iteration']:9.4f}  {row['paired_speedup']:.2f}x")
        return
    settings = [(source, implementation) for source in args.sources.split(",") for implementation in implementations]
    rounds: dict[tuple[str, str], list[dict]] = {setting: [] for setting in settings}
    for _ in range(args.rounds):
        for source, implementation in settings:
            command = [
                sys.executable,
                __file__,
                "--implementation",
                implementation,
                "--xt-source",
                source,
                "--model",
                args.model,
                "--device",
                args.device,
                "--dtype",
                args.dtype,
                "--reference-dtype",
                args.reference_dtype,
                "--iterations",
                str(args.iterations),
                "--warmup",
                str(args.warmup),
                "--ddim-steps",
                str(args.ddim_steps),
                "--targets-ahead",
                str(args.targets_ahead),
                "--sampler",
                args.sampler,
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            rounds[source, implementation].append(json.loads(result.stdout.strip().splitlines()[-1]))
    rows = [{**merge_rounds(rounds[setting]), "run": run} for setting in settings]
    with open(args.out or "benchmarks/results.jsonl", "a") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    print(
        f"\n{'x_t':7s} {'implementation':22s} {'s/iter':>9s} {'without x_t':>12s} {'peak GiB':>9s}"
        "  speed-up (without x_t)  memory  GPU busy s/iter"
    )
    for source in args.sources.split(","):
        same_source = [r for r in rows if r["xt_source"] == source]
        ref = same_source[0]
        for row in same_source:
            print(
                f"{source:7s} {row['implementation']:22s} {row['s_per_iteration']:9.4f} {row['s_without_xt']:12.4f}"
                f" {row['peak_memory_GiB']:9.3f}",
                end="",
            )
            print(f"  {ref['s_per_iteration'] / row['s_per_iteration']:7.2f}x ({ref['s_without_xt'] / row['s_without_xt']:.2f}x)", end="")
            print(f"  {row['peak_memory_GiB'] / ref['peak_memory_GiB']:6.2f}x", end="")
            busy = row["gpu_busy_s_per_iteration"]
            print(f"  {busy:.4f} ({ref['gpu_busy_s_per_iteration'] / busy:.2f}x)" if busy else "")
    if args.quick:
        print(
            "\n--quick times only a few iterations per process: enough for memory and to see that everything runs, but its "
            "speed-ups move with a drifting machine's speed (benchmarks/RESULTS.md); for a steady speed-up, run --paired."
        )


if __name__ == "__main__":
    main()
