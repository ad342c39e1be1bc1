"""Sampling with classifier-free guidance, through diffusers' schedulers.

Two uses: whole images from prompts and seeds (evaluation), and *partial* sampling that stops
at an intermediate timestep t, which is how ESD makes the x_t it trains on. Partial sampling is
always DDIM, as ESD's; whole images may also use DPM-Solver++ (`scheduler="dpm++"`), a second-order
multistep solver meant for 20 to 25 steps: Stable Diffusion's evaluation uses it at 25 steps, to
halve a T4's evaluation time against DDIM's 50.
"""

import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, SchedulerMixin
from tqdm.auto import tqdm

from .checks import require_positive_int
from .models import DiffusionModel

SCHEDULERS = {"ddim": DDIMScheduler, "dpm++": DPMSolverMultistepScheduler}


def fresh_scheduler(model: DiffusionModel, steps: int, scheduler: str = "ddim") -> SchedulerMixin:
    """A new scheduler of kind `scheduler` (`SCHEDULERS`) with the model's noise schedule, set to `steps` steps."""
    require_positive_int("steps", steps)
    if scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {tuple(SCHEDULERS)}, got {scheduler!r}")
    fresh = SCHEDULERS[scheduler].from_config(model.scheduler.config)
    fresh.set_timesteps(steps)
    return fresh


def initial_noise(model: DiffusionModel, seeds: list[int]) -> torch.Tensor:
    """One Gaussian starting point per seed, drawn on the CPU so a seed means the same image everywhere."""
    noise = [torch.randn(model.latent_shape, generator=torch.Generator().manual_seed(int(seed))) for seed in seeds]
    return torch.stack(noise).to(model.device, model.dtype)


@torch.no_grad()
def denoise(
    model: DiffusionModel,
    latents: torch.Tensor,
    concept: torch.Tensor,
    empty: torch.Tensor,
    scheduler: SchedulerMixin,
    guidance: float,
    num_steps: int | None = None,
) -> torch.Tensor:
    """Run the first `num_steps` (default: all) of the scheduler's steps with guidance."""
    for t in scheduler.timesteps[:num_steps]:
        latents = guided_step(model, scheduler, latents, t, concept, empty, guidance)
    return latents


def guided_step(
    model: DiffusionModel,
    scheduler: SchedulerMixin,
    latents: torch.Tensor,
    t: torch.Tensor,
    concept: torch.Tensor,
    empty: torch.Tensor,
    guidance: float,
) -> torch.Tensor:
    """One scheduler step with classifier-free guidance: the empty and the concept prediction in one batch."""
    empty = empty.expand_as(concept)
    eps_uncond, eps_concept = model.unet(torch.cat([latents, latents]), t, torch.cat([empty, concept])).sample.chunk(2)
    eps = eps_uncond + guidance * (eps_concept - eps_uncond)
    return scheduler.step(eps.to(latents.dtype), t, latents).prev_sample


def sample_to_timestep(
    model: DiffusionModel, noise: torch.Tensor, concept: torch.Tensor, empty: torch.Tensor, steps: int, stop_index: int, guidance: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial DDIM sampling: run `stop_index` of `steps` steps and return (x_t, t) where it stopped."""
    return sample_to_timesteps(model, noise, concept, empty, steps, [stop_index] * len(noise), guidance)


@torch.no_grad()
def sample_to_timesteps(
    model: DiffusionModel,
    noise: torch.Tensor,
    concept: torch.Tensor,
    empty: torch.Tensor,
    steps: int,
    stops: list[int],
    guidance: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial DDIM sampling of a batch in which each example stops at its own step: example i runs
    `stops[i]` of `steps` steps. One batched run to the largest stop; an example leaves the batch once
    it has reached its stop, so each step denoises only the examples still running."""
    scheduler = fresh_scheduler(model, steps)
    for stop in stops:
        if isinstance(stop, bool) or not isinstance(stop, int) or not 0 <= stop < steps:
            raise ValueError(f"stop_index must be in [0, {steps}), got {stop!r}")
    concept = concept.expand(len(noise), -1, -1) if len(concept) == 1 else concept
    x_t, stops_tensor = noise.clone(), torch.tensor(stops)
    for index, t in enumerate(scheduler.timesteps[: max(stops)]):
        running = (stops_tensor > index).nonzero().flatten().to(noise.device)
        x_t[running] = guided_step(model, scheduler, x_t[running], t, concept[running], empty, guidance)
    return x_t, scheduler.timesteps[stops_tensor].to(model.device)


def generate(
    model: DiffusionModel,
    prompts: list[str],
    seeds: list[int],
    steps: int = 50,
    guidance: float = 7.5,
    batch_size: int = 16,
    progress: bool = True,
    scheduler: str = "ddim",
) -> torch.Tensor:
    """Images for (prompt, seed) pairs as float32 CPU tensors in [0, 1], shape (n, 3, H, W); deterministic.
    `scheduler`: a name in `SCHEDULERS` ("ddim", or "dpm++" for DPM-Solver++)."""
    prompts, seeds = list(prompts), list(seeds)
    if not prompts or len(prompts) != len(seeds):
        raise ValueError(f"need one seed per prompt and at least one prompt, got {len(prompts)} prompts and {len(seeds)} seeds")
    empty = model.encode_prompts([""])
    images = []
    for start in tqdm(range(0, len(prompts), batch_size), desc="sampling", disable=not progress):
        batch_prompts, batch_seeds = prompts[start : start + batch_size], seeds[start : start + batch_size]
        noise, concept = initial_noise(model, batch_seeds), model.encode_prompts(batch_prompts)
        latents = denoise(model, noise, concept, empty, fresh_scheduler(model, steps, scheduler), guidance)
        images.append(model.decode(latents).cpu())
    return torch.cat(images)
