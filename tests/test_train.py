import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace

import pytest
import torch
from diffusers import ModelMixin
from safetensors.torch import load_file

from gridlib.cli import main
from gridlib.models import load_model
from gridlib.reference import ReferenceTrainer
from gridlib.settings import recipe
from gridlib.train import CHECKPOINT_FILE, Trainer, train_erasure
from gridlib.train_config import XT_SOURCES, TrainConfig, step_range
from gridlib.weights import load_erasure

QUICK = dict(iterations=3, lr=1e-3, ddim_steps=4)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("prompts", [], "prompts must be a non-empty list"),
        ("prompts", "a painting by Van Gogh", "prompts must be a non-empty list"),
        ("prompts", ["ok", "  "], "prompts must be a non-empty list of non-empty strings"),
        ("iterations", 0, "iterations must be a positive integer, got 0"),
        ("iterations", -5, "iterations must be a positive integer, got -5"),
        ("iterations", 2.5, "iterations must be a positive integer, got 2.5"),
        ("lr", 0.0, r"lr must be a number in \(0, 1\), got 0.0"),
        ("lr", -1e-5, r"lr must be a number in \(0, 1\), got -1e-05"),
        ("lr", "1e-5", r"lr must be a number in \(0, 1\), got '1e-5'"),
        ("masks", "grid9", "masks must be one of"),
        ("method", "attn", "method must be one of"),
        ("xt_source", "image", "xt_source must be one of"),
        ("sampler", "ema", "sampler must be one of"),
        ("anchor", "empty", "anchor must be one of"),
        ("negative_guidance", float("nan"), "negative_guidance must be a finite number"),
        ("ddim_steps", 0, "ddim_steps must be a positive integer"),
        ("seed", -1, "seed must be a non-negative integer"),
        ("noise_levels", (0.5, 0.5), r"noise_levels must be two numbers \(low, high\) with 0 <= low < high <= 1, got \(0.5, 0.5\)"),
        ("noise_levels", (0.0, 1.5), "noise_levels must be two numbers"),
        ("noise_levels", (0.5,), "noise_levels must be two numbers"),
        ("noise_levels", "0.5,1", "noise_levels must be two numbers"),
        ("noise_levels", (0.0, 0.01), r"noise_levels \(0.0, 0.01\) leave no step of 'sample' x_t to train on"),
        ("neutral_prompts", ["a red circle"], "neutral_prompts must be None or a list of 20 strings, one per prompt"),
        ("neutral_prompts", "a red circle", "neutral_prompts must be None or a list of 20 strings"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_written(tiny, tmp_path, field, value, message):
    with pytest.raises(ValueError, match=message):
        train_erasure(tiny, TrainConfig(**{field: value}), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "xt_source, levels, expected",
    [
        ("noise", (0.0, 1.0), (0, 1000)),  # ESD: every timestep
        ("noise", (0.5, 1.0), (500, 1000)),  # the noisier half
        ("sample", (0.0, 1.0), (0, 20)),  # stop after 0 to 19 of 20 DDIM steps
        ("sample", (0.5, 1.0), (0, 10)),  # the noisier half: few steps taken
        ("sample", (0.0, 0.5), (10, 20)),
    ],
)
def test_noise_levels_choose_the_steps_x_t_is_drawn_from(xt_source, levels, expected):
    assert step_range(TrainConfig(xt_source=xt_source, noise_levels=levels, ddim_steps=20), 1000) == expected


def test_noise_levels_limit_every_drawn_timestep(tiny):
    trainer = Trainer(tiny, TrainConfig(xt_source="noise", noise_levels=[0.5, 1.0], **QUICK))
    timesteps = [int(trainer.next_example()[2]) for _ in range(12)]
    train_timesteps = tiny.scheduler.config.num_train_timesteps
    assert all(train_timesteps // 2 <= t < train_timesteps for t in timesteps), timesteps


def test_same_seed_same_losses_and_weights(tmp_path):
    runs = []
    for name in ("a", "b"):
        model = load_model("tiny", device="cpu")
        losses = train_erasure(model, TrainConfig(seed=7, **QUICK), tmp_path / name, progress=False)
        runs.append((losses, load_erasure(tmp_path / name)[0]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    other = train_erasure(load_model("tiny", device="cpu"), TrainConfig(seed=8, **QUICK), tmp_path / "c", progress=False)
    assert other != runs[0][0]


def test_neutral_prompts_replace_the_empty_prompt_in_the_target_and_nowhere_else(tiny):
    """Empty neutral prompts train ESD's own run, bit for bit; the toy recipe's anchor each target at the prompt
    without the painter: eps0(n) - eta * (eps0(c) - eps0(n))."""
    config = recipe("tiny", iterations=3, lr=1e-3)
    esd = Trainer(load_model("tiny", device="cpu"), replace(config, neutral_prompts=None))
    empty = Trainer(load_model("tiny", device="cpu"), replace(config, neutral_prompts=[""] * len(config.prompts)))
    assert [esd.step() for _ in range(3)] == [empty.step() for _ in range(3)]
    anchored = Trainer(tiny, config)
    concept, x_t, t, target, _ = anchored.next_example()
    index = next(i for i, row in enumerate(anchored.concepts) if torch.equal(row, concept[0]))
    with anchored.frozen.swapped_in(), torch.no_grad():
        eps_c, eps_n = (tiny.unet(x_t, t, embedding).sample for embedding in (concept, anchored.neutrals[index : index + 1]))
    assert torch.allclose(target, eps_n - config.negative_guidance * (eps_c - eps_n), atol=1e-4)  # batched vs single pass: rounding


@pytest.mark.parametrize("source", ["noise", "sample"])
@pytest.mark.parametrize("sampler", ["trained", "frozen"])
def test_every_xt_route_trains_the_attn2_tensors_and_nothing_else(tiny, tmp_path, source, sampler):
    before = {name: p.clone() for name, p in tiny.unet.named_parameters()}
    losses = train_erasure(tiny, TrainConfig(xt_source=source, sampler=sampler, **QUICK), tmp_path, progress=False)
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)
    changed = {name for name, p in tiny.unet.named_parameters() if not torch.equal(p, before[name])}
    assert changed == {name for name in before if ".attn2." in name}
    passes = json.loads((tmp_path / "metadata.json").read_text())["unet_passes"]
    assert passes["backward"] == 3 and (passes["forward"] > 9) == (source == "sample")  # sampling x_t costs passes


def test_a_nan_loss_stops_at_once_and_saves_nothing(tiny, tmp_path):
    name, parameter = next((n, p) for n, p in tiny.unet.named_parameters() if ".attn2.to_out" in n)
    parameter.data.fill_(float("inf"))
    with pytest.raises(FloatingPointError, match=r"at iteration 1; nothing was saved.*lr=0.001"):
        train_erasure(tiny, TrainConfig(**QUICK), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_resume_refuses_a_checkpoint_from_another_config(tiny, tmp_path):
    from gridlib.train import Trainer

    trainer = Trainer(tiny, TrainConfig(**QUICK))
    trainer.step()
    trainer.save_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="different TrainConfig"):
        train_erasure(load_model("tiny", device="cpu"), TrainConfig(seed=1, **QUICK), tmp_path, resume=True, progress=False)


TRAIN_ARGS = "train --model tiny --device cpu --iterations 30 --lr 0.001 --xt-source sample --ddim-steps 10 --checkpoint-every 5 --seed 3"
# The same command in a process that kills itself (SIGKILL, no clean-up) right after iteration KILL_AT: a hook, not a timer
KILLED_TRAINING = (
    "import os, signal, sys\n"
    "from gridlib.cli import main\n"
    "from gridlib.train import Trainer\n"
    "kill_at, step = int(sys.argv[1]), Trainer.step\n"
    "def step_then_die_at(self):\n"
    "    loss = step(self)\n"
    "    if len(self.losses) == kill_at:\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "    return loss\n"
    "Trainer.step = step_then_die_at\n"
    "main(sys.argv[2:])\n"
)
CHILD_ENV = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1", HF_HUB_OFFLINE="1")


def _checkpointed_iteration(folder) -> int:
    from safetensors import safe_open

    if not (folder / CHECKPOINT_FILE).exists():
        return 0
    with safe_open(folder / CHECKPOINT_FILE, "pt") as handle:
        return int(handle.metadata()["iteration"])


@pytest.mark.slow
def _train_single_threaded(out, *flags: str) -> None:
    """The training command in this process, single-threaded as the children run: the same arithmetic, bit for bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        main([*TRAIN_ARGS.split(), "--out", str(out), *flags])
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow  # a child process
def test_killed_training_resumes_bitwise_identical(tmp_path):
    """SIGKILL a training run three times at chosen iterations, resume each time, and compare with a clean run
    (the clean run and the last resume in this process, to save process starts)."""
    _train_single_threaded(tmp_path / "clean")
    interrupted, reached = tmp_path / "interrupted", []
    for kill_at in (7, 15, 23):  # checkpoints every 5; at 15 the kill comes just before the checkpoint is written
        command = [sys.executable, "-c", KILLED_TRAINING, str(kill_at), *TRAIN_ARGS.split(), "--out", str(interrupted), "--resume"]
        killed = subprocess.run(command, env=CHILD_ENV, capture_output=True)
        assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
        reached.append(_checkpointed_iteration(interrupted))
        for leftover in interrupted.glob("*.safetensors"):  # every file under its real name is complete
            load_file(leftover)
    assert reached == [5, 10, 20]
    _train_single_threaded(interrupted, "--resume")
    clean, resumed = load_erasure(tmp_path / "clean"), load_erasure(interrupted)
    assert clean[1]["loss_history"] == resumed[1]["loss_history"]
    assert all(torch.equal(clean[0][k], resumed[0][k]) for k in clean[0])
    assert not (interrupted / CHECKPOINT_FILE).exists()


@pytest.mark.slow  # a child process
def test_a_kill_during_save_leaves_no_valid_looking_partial_file(tmp_path):
    """Kill a process that saves large tensors over and over, after its first save, at moments that fall
    inside later saves: the file under the real name always loads whole (a direct write would not)."""
    code = (
        "import sys, torch; from gridlib.files import save_tensors\n"
        "big = {'w': torch.randn(4_000_000)}\n"
        "while True: save_tensors(big, 'out/weights.safetensors'); print('saved', flush=True)\n"
    )
    target = tmp_path / "out" / "weights.safetensors"
    for delay in (0.0, 0.02, 0.05, 0.09, 0.14):
        child = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=CHILD_ENV, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "saved\n"  # one save has finished: the target exists from here on
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert load_file(target)["w"].shape == (4_000_000,)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_half_model_runs_every_pass_in_half_and_trains_float32_tensors(tmp_path, dtype):
    model = load_model("tiny", device="cpu", dtype=dtype)
    original = {name: p.detach().clone() for name, p in model.unet.named_parameters() if ".attn2." in name}
    trainer = Trainer(model, TrainConfig(**QUICK))
    attn2 = [p for _, p in trainer.named]
    passes = []  # (gradients on?, dtypes of the attn2 tensors the pass saw)
    hook = model.unet.register_forward_pre_hook(lambda *_: passes.append((torch.is_grad_enabled(), {p.dtype for p in attn2})))
    losses = [trainer.step() for _ in range(3)]
    hook.remove()
    assert all(torch.isfinite(torch.tensor(losses)))
    assert {grad for grad, _ in passes} == {True, False}  # sampling and frozen passes, and the trained pass
    assert all(dtypes == {dtype} for _, dtypes in passes)
    assert all(p.dtype == torch.float32 and p.grad.dtype == torch.float32 for p in attn2)  # Adam updates float32 tensors
    assert all(not torch.equal(p.to(dtype), original[name]) for name, p in trainer.named)
    assert all(torch.equal(trainer.frozen.originals[name], original[name]) for name in original)  # exact, in the model's dtype


def test_float16_training_skips_a_step_whose_gradients_overflow():
    trainer = Trainer(load_model("tiny", device="cpu", dtype=torch.float16), TrainConfig(**QUICK))
    before = {name: p.detach().clone() for name, p in trainer.named}
    trainer.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**40)  # a loss scale that overflows float16 gradients
    trainer.step()
    assert all(torch.equal(before[name], p) for name, p in trainer.named)
    assert trainer.scaler.get_scale() == 2.0**39  # halved; the next step tries again
    trainer.scaler.update(new_scale=2.0**10)
    trainer.step()
    assert all(torch.isfinite(p).all() and not torch.equal(before[name], p) for name, p in trainer.named)


def test_float16_training_resumes_bitwise_identical_loss_scale_included(tmp_path):
    def trainer() -> Trainer:
        return Trainer(load_model("tiny", device="cpu", dtype=torch.float16), TrainConfig(**QUICK))

    clean = trainer()
    clean.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**23)  # early steps overflow: the scale drops
    for _ in range(4):
        clean.step()
    first = trainer()
    first.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**23)
    first.step(), first.step()
    assert first.scaler.get_scale() < 2.0**23  # what the checkpoint must carry
    first.save_checkpoint(tmp_path)
    resumed = trainer()
    resumed.load_checkpoint(tmp_path)
    resumed.step(), resumed.step()
    assert resumed.losses == clean.losses
    assert resumed.scaler.get_scale() == clean.scaler.get_scale()
    assert all(torch.equal(p, q) for (_, p), (_, q) in zip(clean.named, resumed.named, strict=True))
    assert not torch.equal(clean.named[0][1], trainer().named[0][1])  # the steps that did not overflow updated


def test_training_stopped_early_leaves_a_half_model_in_its_own_precision(tmp_path):
    model = load_model("tiny", device="cpu", dtype=torch.bfloat16)
    name, parameter = next((n, p) for n, p in model.unet.named_parameters() if ".attn2.to_out" in n)
    parameter.data.fill_(float("inf"))
    with pytest.raises(FloatingPointError):
        train_erasure(model, TrainConfig(**QUICK), tmp_path / "out", progress=False)
    attn2 = [p for n, p in model.unet.named_parameters() if ".attn2." in n]
    assert all(p.dtype == torch.bfloat16 and not p.requires_grad for p in attn2)


@pytest.mark.parametrize("xt_source", XT_SOURCES)
@pytest.mark.parametrize("make_trainer", [Trainer, ReferenceTrainer])
def test_a_step_never_walks_the_unet_for_its_device_or_dtype(monkeypatch, xt_source, make_trainer):
    """diffusers' `unet.device` and `unet.dtype` walk every submodule (3.7 ms per read for SD1.4's UNet on this CPU);
    a read per trained tensor once made every swap cost 40% of a float16 SD1.4 noise-route iteration on an H200."""
    model = load_model("tiny", device="cpu", dtype=torch.float16)
    assert (model.device, model.dtype) == (model.unet.device, model.unet.dtype)
    trainer = make_trainer(model, recipe("tiny", xt_source=xt_source, ddim_steps=5))
    walks = []
    for name in ("device", "dtype"):
        walk = getattr(ModelMixin, name)
        monkeypatch.setattr(ModelMixin, name, property(lambda unet, walk=walk, name=name: walks.append(name) or walk.fget(unet)))
    trainer.step()
    assert walks == []


NOISE = dict(iterations=10, lr=1e-3, xt_source="noise", checkpoint_every=4)
FROZEN = dict(NOISE, xt_source="sample", sampler="frozen", ddim_steps=6)


def test_the_noise_route_makes_several_targets_in_one_frozen_pass_without_changing_a_draw():
    def run(ahead: int) -> tuple[Trainer, list[int]]:
        trainer = Trainer(load_model("tiny", device="cpu"), TrainConfig(**NOISE), targets_ahead=ahead)
        batches = []
        trainer.model.unet.register_forward_pre_hook(lambda _, args: batches.append(len(args[0])))
        for _ in range(NOISE["iterations"]):
            trainer.step()
        return trainer, batches

    three_ahead, batches = run(3)
    # batches of targets (two images each) of three iterations, cut at each checkpoint (4, 8) and at the end (10)
    assert batches == [6, 1, 1, 1, 2, 1, 6, 1, 1, 1, 2, 1, 4, 1, 1]
    one_at_a_time, batches = run(1)
    assert batches == [2, 1] * NOISE["iterations"]
    assert three_ahead.losses == pytest.approx(one_at_a_time.losses, rel=1e-5)
    assert three_ahead.unet_passes == one_at_a_time.unet_passes == {"forward": 30, "backward": 10}


@pytest.mark.parametrize("route", ["noise", "frozen sampler"])
def test_examples_drawn_ahead_resume_bitwise_identical_from_a_checkpoint_between_batches(tmp_path, route):
    config = TrainConfig(**(NOISE if route == "noise" else FROZEN))
    clean = Trainer(load_model("tiny", device="cpu"), config)
    for _ in range(config.iterations):
        clean.step()
    first = Trainer(load_model("tiny", device="cpu"), config)
    for _ in range(config.checkpoint_every):
        first.step()
    first.save_checkpoint(tmp_path)
    resumed = Trainer(load_model("tiny", device="cpu"), config)
    resumed.load_checkpoint(tmp_path)
    for _ in range(config.iterations - config.checkpoint_every):
        resumed.step()
    assert resumed.losses == clean.losses
    assert all(torch.equal(p, q) for (_, p), (_, q) in zip(clean.named, resumed.named, strict=True))


def test_the_frozen_sampler_samples_several_x_t_in_one_run_without_changing_a_draw():
    """x_t sampled by the frozen model depends on no trained weight: three iterations' x_t in one DDIM run."""

    def run(ahead: int) -> Trainer:
        trainer = Trainer(load_model("tiny", device="cpu"), TrainConfig(**FROZEN), targets_ahead=ahead)
        for _ in range(FROZEN["iterations"]):
            trainer.step()
        return trainer

    batched, one_at_a_time = run(3), run(1)
    assert batched.losses == pytest.approx(one_at_a_time.losses, rel=1e-5)
    assert batched.unet_passes == one_at_a_time.unet_passes and batched.unet_passes["forward"] > 30
    trained_sampler = Trainer(load_model("tiny", device="cpu"), TrainConfig(**dict(FROZEN, sampler="trained")), targets_ahead=3)
    trained_sampler.step()
    assert trained_sampler.examples == []  # x_t sampled by the model being trained needs the latest weights: one at a time


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3"])
def test_a_bad_number_of_targets_ahead_is_refused(tiny, value):
    with pytest.raises(ValueError, match=f"targets_ahead must be a positive integer, got {value!r}"):
        Trainer(tiny, TrainConfig(**NOISE), targets_ahead=value)


def test_a_checkpoint_inside_a_batch_of_targets_is_refused(tmp_path):
    trainer = Trainer(load_model("tiny", device="cpu"), TrainConfig(**NOISE), targets_ahead=3)
    trainer.step()
    with pytest.raises(RuntimeError, match="after iteration 1: 2 examples are drawn ahead"):
        trainer.save_checkpoint(tmp_path)
    assert not (tmp_path / CHECKPOINT_FILE).exists()


def test_the_train_command_starts_from_the_models_recipe(tmp_path, capsys):
    main(["train", "--model", "tiny", "--out", str(tmp_path / "run"), "--iterations", "2", "--device", "cpu"])
    metadata = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert metadata["config"] == asdict(recipe("tiny", iterations=2))
    assert "2 iterations" in capsys.readouterr().out


def test_the_train_command_reads_noise_levels_as_two_comma_separated_numbers(tmp_path):
    main(["train", "--model", "tiny", "--out", str(tmp_path / "run"), "--iterations", "2", "--noise-levels", "0,0.5", "--device", "cpu"])
    metadata = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert metadata["config"] == asdict(recipe("tiny", iterations=2, noise_levels=[0.0, 0.5]))


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--masks", "grid9"], "masks must be one of"),
        (["--iterations", "0"], "argument --iterations: expected a positive integer, got '0'"),
        (["--lr", "x"], "invalid float value"),
        (["--noise-levels", "1,0.5"], "noise_levels must be two numbers (low, high) with 0 <= low < high <= 1, got [1.0, 0.5]"),
    ],
)
def test_the_train_command_refuses_bad_flags_before_loading_anything(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit):
        main(["train", "--model", "tiny", "--out", str(tmp_path / "run"), *flags])
    assert message in capsys.readouterr().err and not (tmp_path / "run").exists()
