"""The original two-model ESD algorithm, written plainly, as the baseline gridlib is measured against.

Like the official `esd_sd.py`, it keeps a frozen copy of the whole UNet, asks it for the
conditional and the unconditional prediction in two separate passes, and never turns gradients
off on the UNet it trains: backward computes a gradient for every weight, and only the
optimizer's choice of tensors keeps the rest unchanged. Unlike `esd_sd.py`, which loads the UNet
twice from disk in bfloat16 and samples x_t at 1024 px, it copies the loaded UNet and runs in
float32 at the model's own resolution (512 px on SD1.4), as the paper's code did. It draws
the same random numbers in the same order as `gridlib.train.Trainer`, so on the same inputs the
two compute the same loss (a test checks it) and a benchmark compares equals.
"""

import copy
import dataclasses

import torch

from .esd import esd_target, trainable_parameters, weighted_mse
from .masks import loss_weight_map, mask_set
from .models import DiffusionModel
from .sampling import sample_to_timestep
from .train import TrainConfig, step_range


class ReferenceTrainer:
    """ESD-X with a second, frozen UNet: simple, and twice the weights in memory.

    `all_gradients=False` freezes the untrained weights, the one change that isolates how much of
    gridlib's speed comes from not computing gradients nobody uses.
    """

    def __init__(self, model: DiffusionModel, config: TrainConfig, all_gradients: bool = True):
        config.validate()
        self.model, self.config = model, config
        self.frozen_model = dataclasses.replace(model, unet=copy.deepcopy(model.unet).float().requires_grad_(False))
        self.model.unet.float().requires_grad_(all_gradients)
        self.named = trainable_parameters(model.unet, config.method)
        for _, p in self.named:
            p.requires_grad_(True)
        self.optimizer = torch.optim.Adam([p for _, p in self.named], lr=config.lr)
        self.weights = loss_weight_map(mask_set(config.masks, *model.latent_shape[1:])).to(model.device)
        self.concepts = model.encode_prompts(config.prompts).float()
        self.empty = model.encode_prompts([""]).float()
        self.neutrals = model.encode_prompts(config.neutral_prompts).float() if config.neutral_prompts else None
        self.step_bounds = step_range(config, model.scheduler.config.num_train_timesteps)  # the noise levels trained on
        self.generator = torch.Generator().manual_seed(config.seed)
        self.losses: list[float] = []

    def make_xt(self, concept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg, model = self.config, self.model
        noise = torch.randn((1, *model.latent_shape), generator=self.generator).to(model.device)
        step = int(torch.randint(*self.step_bounds, (1,), generator=self.generator))  # t, or the DDIM step to stop at
        if cfg.xt_source == "noise":
            return noise, torch.tensor([step], device=model.device)
        sampler = self.frozen_model if cfg.sampler == "frozen" else model
        return sample_to_timestep(sampler, noise, concept, self.empty, cfg.ddim_steps, step, cfg.sample_guidance)

    def step(self) -> float:
        cfg = self.config
        index = int(torch.randint(0, len(cfg.prompts), (1,), generator=self.generator))
        concept = self.concepts[index : index + 1]
        x_t, t = self.make_xt(concept)
        neutral = self.empty if self.neutrals is None else self.neutrals[index : index + 1]
        with torch.no_grad():
            eps_concept = self.frozen_model.unet(x_t, t, concept).sample
            eps_neutral = self.frozen_model.unet(x_t, t, neutral).sample
        target = esd_target(eps_concept, eps_neutral, cfg.negative_guidance, cfg.anchor)
        loss = weighted_mse(self.model.unet(x_t, t, concept).sample, target, self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.losses.append(loss.item())
        return self.losses[-1]
