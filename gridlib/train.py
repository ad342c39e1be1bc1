"""Training an erasure: one ESD step, and the loop with checkpoints and exact resume (the config: `train_config`).

One iteration: pick a concept prompt; make x_t (by partially sampling an image for that prompt,
as ESD does, or as plain noise); ask the frozen model for eps0(x_t, c) and eps0(x_t, "") (or of
the prompt without the concept, `TrainConfig.neutral_prompts`) in one batch; build the ESD
target; take one optimizer step on the weighted MSE between the trained model's eps(x_t, c) and
the target, inside the masks. Where x_t is plain noise, nothing but that last step depends on the
weights being trained, so the targets of several iterations are made in one batched pass of the
frozen model.
"""

import json
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from tqdm.auto import tqdm

from .checks import require_positive_int
from .concept_maps import concept_signal, concept_token_mask, concept_weights, recording_cross_attention
from .esd import FrozenCopy, esd_target, frozen_predictions, swapped, trainable_parameters, weighted_mse
from .files import save_tensors
from .masks import loss_weight_map, mask_set
from .models import DiffusionModel
from .sampling import sample_to_timesteps
from .train_config import TrainConfig, step_range
from .weights import save_erasure

CHECKPOINT_FILE = "checkpoint.safetensors"
TARGETS_AHEAD = 3  # x_t from noise or the frozen sampler: iterations whose examples are made together


class Trainer:
    """The state of one erasure run: trained tensors, their frozen originals, optimizer, RNG and losses.

    `targets_ahead` only sets how many iterations' targets one frozen pass makes on the noise route
    (see `next_example`): every value draws the same examples and trains the same run.
    """

    def __init__(self, model: DiffusionModel, config: TrainConfig, targets_ahead: int = TARGETS_AHEAD):
        config.validate()
        require_positive_int("targets_ahead", targets_ahead)
        self.step_bounds = step_range(config, model.scheduler.config.num_train_timesteps)  # [first, last) of every drawn step
        self.model, self.config, self.targets_ahead = model, config, targets_ahead
        self.dtype = model.dtype  # the model's precision, whatever precision the trained tensors train in
        self.named = trainable_parameters(model.unet, config.method)
        for _, p in self.named:  # train in float32 even when the model runs in half precision
            p.data = p.data.float()
            p.requires_grad_(True)
        self.frozen = FrozenCopy(self.named, dtype=self.dtype)
        self.optimizer = torch.optim.Adam([p for _, p in self.named], lr=config.lr)
        # float16 gradients underflow unless the loss is scaled up first (bfloat16's range needs no scaling)
        self.scaler = torch.amp.GradScaler(model.device.type, enabled=self.dtype == torch.float16)
        height, width = model.latent_shape[1:]
        self.weights = loss_weight_map(mask_set(config.masks, height, width)).to(model.device)
        self.concepts = model.encode_prompts(config.prompts)
        self.concept_tokens = concept_token_mask(model.tokenizer, config.prompts) if config.weighting == "attention" else None
        self.empty = model.encode_prompts([""])
        self.neutrals = model.encode_prompts(config.neutral_prompts) if config.neutral_prompts else self.empty.expand_as(self.concepts)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.losses: list[float] = []
        self.unet_passes = {"forward": 0, "backward": 0}  # in single images, for equal-compute comparisons
        self.examples: list[tuple[torch.Tensor, ...]] = []  # drawn ahead: (concept, x_t, t, target, weights) per iteration

    def next_example(self) -> tuple[torch.Tensor, ...]:
        """The next iteration's concept embedding, x_t, t, ESD target and loss weights.

        Where x_t comes from noise, or is sampled by the frozen model (`sampler="frozen"`), no part of an
        example depends on the weights being trained, so the examples of the next `targets_ahead`
        iterations are drawn at once, in the order one at a time would draw them: their x_t are sampled
        in one batched DDIM run and the frozen model makes their targets in one batched pass. On a CPU,
        or on a GPU whose host sets the pace, a pass of 6 images costs much less than three passes of 2.
        (More ahead saves little more time and costs memory: benchmarks/RESULTS.md.)
        A batch never reaches past a checkpoint (so the saved random state is exact and resuming still is)
        or past the run's last iteration.
        """
        if not self.examples:
            cfg, done = self.config, len(self.losses)
            to_checkpoint, to_end = cfg.checkpoint_every - done % cfg.checkpoint_every, max(cfg.iterations - done, 1)
            trained_samples = cfg.xt_source == "sample" and cfg.sampler == "trained"  # x_t needs the latest weights
            ahead = 1 if trained_samples else min(self.targets_ahead, to_checkpoint, to_end)
            self.examples = self.make_examples(ahead)
        return self.examples.pop(0)

    def make_examples(self, count: int) -> list[tuple[torch.Tensor, ...]]:
        """Draw `count` iterations' prompts, noise and timesteps, make their x_t, then their targets in one
        pass of the frozen model. Every draw comes from the run's generator, in the order one at a time would take."""
        cfg, model, indices, noises, steps = self.config, self.model, [], [], []
        first, last = self.step_bounds
        for _ in range(count):
            indices.append(int(torch.randint(0, len(cfg.prompts), (1,), generator=self.generator)))
            noises.append(torch.randn((1, *model.latent_shape), generator=self.generator))
            steps.append(int(torch.randint(first, last, (1,), generator=self.generator)))  # t, or the DDIM step to stop at
        concept = self.concepts[indices]
        x_t, t = self.make_xt(concept, torch.cat(noises).to(model.device, self.dtype), steps)
        recording = recording_cross_attention(model.unet, rows=count) if cfg.weighting == "attention" else nullcontext()
        with recording as attention:
            eps_concept, eps_neutral = frozen_predictions(model.unet, self.frozen, x_t, t, concept, self.neutrals[indices])
        target = esd_target(eps_concept.float(), eps_neutral.float(), cfg.negative_guidance, cfg.anchor)
        if cfg.weighting == "masks":
            weights = self.weights.expand(count, -1, -1, -1)
        else:  # from the frozen pass the target already needed: no extra pass
            tokens = self.concept_tokens[indices] if self.concept_tokens is not None else None
            weights = concept_weights(concept_signal(cfg.weighting, eps_concept, eps_neutral, attention, tokens), cfg.sharpness)
        self.unet_passes["forward"] += 2 * count  # frozen concept + frozen neutral (empty)
        return list(zip(concept.split(1), x_t.split(1), t.split(1), target.split(1), weights.split(1), strict=True))

    def make_xt(self, concept: torch.Tensor, noise: torch.Tensor, steps: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The noisy inputs to train on, and their timesteps: the noise itself at timesteps `steps`, or
        the noise partially sampled for each concept, example i stopping after `steps[i]` DDIM steps."""
        cfg, model = self.config, self.model
        if cfg.xt_source == "noise":
            return noise, torch.tensor(steps, device=model.device)
        self.unet_passes["forward"] += 2 * sum(steps)  # guided sampling: concept and empty, each step
        sampler = self.frozen.swapped_in() if cfg.sampler == "frozen" else self.trained_in_model_dtype()
        with sampler:
            return sample_to_timesteps(model, noise, concept, self.empty, cfg.ddim_steps, steps, cfg.sample_guidance)

    def trained_in_model_dtype(self) -> AbstractContextManager:
        """The trained tensors cast to the model's precision, for every pass of the trained model.

        A half-precision model then runs in half precision throughout, as diffusers runs it, while
        Adam updates the float32 tensors (`step` casts their gradients back). Autocast, the usual
        alternative, keeps norms and softmax in float32 and casts around them, which made SD1.4's guided
        pass as slow as float32 (benchmarks/RESULTS.md). For a float32 model this swaps each tensor for itself.
        """
        return swapped(dict(self.named), {name: p.detach().to(self.dtype) for name, p in self.named})

    def step(self) -> float:
        """One ESD iteration; returns its loss. Raises FloatingPointError on a NaN or inf loss."""
        cfg, unet = self.config, self.model.unet
        concept, x_t, t, target, weights = self.next_example()
        self.optimizer.zero_grad(set_to_none=True)
        with self.trained_in_model_dtype():  # the one pass with gradients
            loss = weighted_mse(unet(x_t, t, concept).sample, target, weights)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss.item()} at iteration {len(self.losses) + 1}; nothing was saved from this state. "
                    f"Likely causes: a learning rate too high (lr={cfg.lr}) or a half-precision overflow "
                    f"(model dtype {self.dtype}); try a lower lr or float32."
                )
            self.scaler.scale(loss).backward()
        for _, p in self.named:  # the gradients arrive in the model's precision; Adam works in float32
            if p.grad is not None:
                p.grad = p.grad.float()
        self.scaler.step(self.optimizer)  # unscales; in float16, skips a step whose gradients overflowed
        self.scaler.update()
        self.unet_passes["forward"] += 1  # the trained model's
        self.unet_passes["backward"] += 1
        self.losses.append(loss.item())
        return self.losses[-1]

    def state(self) -> dict[str, torch.Tensor]:
        """The tensors needed to continue bit for bit: trained tensors, Adam moments, RNG state."""
        tensors = {f"param/{name}": p.detach() for name, p in self.named}
        for name, p in self.named:
            for key, value in self.optimizer.state.get(p, {}).items():
                tensors[f"adam/{key}/{name}"] = value
        tensors["rng"] = self.generator.get_state()
        return tensors

    def save_checkpoint(self, folder: Path) -> None:
        """`state()` plus, as metadata, the losses, pass counts, config and float16 loss scale."""
        if self.examples:
            raise RuntimeError(
                f"cannot checkpoint after iteration {len(self.losses)}: {len(self.examples)} examples are "
                f"drawn ahead; checkpoints belong every config.checkpoint_every={self.config.checkpoint_every} iterations"
            )
        metadata = {
            "iteration": str(len(self.losses)),
            "losses": json.dumps(self.losses),
            "unet_passes": json.dumps(self.unet_passes),
            "config": json.dumps(asdict(self.config)),
            "grad_scaler": json.dumps(self.scaler.state_dict()),
        }
        save_tensors(self.state(), folder / CHECKPOINT_FILE, metadata=metadata)

    def load_checkpoint(self, folder: Path) -> None:
        """Restore a checkpoint written by the same config; refuse one from a different run."""
        path = folder / CHECKPOINT_FILE
        with safe_open(path, "pt") as handle:
            metadata = handle.metadata()
        if json.loads(metadata["config"]) != asdict(self.config):
            raise ValueError(f"{path} was written by a different TrainConfig; resume with the same config or a new out_dir")
        tensors = load_file(path)
        with torch.no_grad():
            for name, p in self.named:
                p.copy_(tensors[f"param/{name}"])
                if f"adam/step/{name}" in tensors:  # Adam keeps its step count on the CPU, its moments beside p
                    self.optimizer.state[p] = {
                        "step": tensors[f"adam/step/{name}"],
                        "exp_avg": tensors[f"adam/exp_avg/{name}"].to(p.device),
                        "exp_avg_sq": tensors[f"adam/exp_avg_sq/{name}"].to(p.device),
                    }
        self.generator.set_state(tensors["rng"])
        self.examples = []  # anything drawn ahead belonged to the state this checkpoint replaces
        if self.scaler.is_enabled():
            self.scaler.load_state_dict(json.loads(metadata["grad_scaler"]))
        self.losses = json.loads(metadata["losses"])
        self.unet_passes = json.loads(metadata["unet_passes"])


def train_erasure(
    model: DiffusionModel, config: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True
) -> list[float]:
    """Erase a concept from `model` in place; writes `erasure.safetensors` + `metadata.json` to `out_dir`.

    Every `config.checkpoint_every` iterations the full state is checkpointed; with `resume=True`
    a run continues from its checkpoint and ends bitwise identical to an uninterrupted one.
    Returns the loss history.
    """
    out_dir = Path(out_dir)
    trainer = Trainer(model, config)
    if resume and (out_dir / CHECKPOINT_FILE).exists():
        trainer.load_checkpoint(out_dir)
    try:
        with tqdm(total=config.iterations, initial=len(trainer.losses), desc="erasing", disable=not progress) as bar:
            while len(trainer.losses) < config.iterations:
                loss = trainer.step()
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}")
                done = len(trainer.losses)
                if done % config.checkpoint_every == 0 and done < config.iterations:
                    trainer.save_checkpoint(out_dir)
        save_erasure(
            model.unet, [name for name, _ in trainer.named], out_dir, model.name, asdict(config), trainer.losses, trainer.unet_passes
        )
        (out_dir / CHECKPOINT_FILE).unlink(missing_ok=True)
    finally:  # also when stopped early (an error, or an interrupt in a notebook): the model stays usable for sampling
        for _, p in trainer.named:
            p.requires_grad_(False)
            p.data = p.data.to(trainer.dtype)
    return trainer.losses
