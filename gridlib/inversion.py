"""Concept inversion: can an erased style be brought back by learning a new word for it?

Textual inversion (Gal et al., 2023), used as an attack on erasure (Pham et al., 2024): add a new
token to the tokenizer, give it an embedding row, and train only that row with the ordinary
denoising loss on pictures of the erased style, the model itself frozen. If the erased model can
still draw the style, some embedding will find it, and prompts with the new token bring it back.
As in diffusers' textual-inversion example, the whole embedding matrix is handed to the optimizer
and every row but the new ones is restored after each step.

    pictures, captions = toy_style_pictures("van_gogh", count=256, seed=0)
    losses = invert_concept(model, pictures, captions, InversionConfig(), out_dir="runs/attack")
    generate(model, ["a red circle in the style of <style>"], [5000])
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from tqdm.auto import tqdm

from .checks import require_positive_int
from .files import save_json, save_tensors
from .models import DiffusionModel, prompt_token_ids

CHECKPOINT_FILE = "inversion_checkpoint.safetensors"


@dataclass
class InversionConfig:
    """One inversion attack: the new token, where its embedding starts, and how long and fast it learns."""

    token: str = "<style>"
    init_word: str = "painting"  # the new row starts as this word's embedding
    steps: int = 300
    lr: float = 5e-3
    batch_size: int = 16
    seed: int = 0
    checkpoint_every: int = 50

    def validate(self) -> None:
        """Raise one ValueError naming the first bad field and what it allows."""
        if not isinstance(self.token, str) or not self.token.strip() or " " in self.token:
            raise ValueError(f"token must be one word without spaces, got {self.token!r}")
        for name in ("steps", "batch_size", "checkpoint_every"):
            require_positive_int(name, getattr(self, name))
        if not isinstance(self.lr, (int, float)) or not 0 < self.lr < 1:
            raise ValueError(f"lr must be a number in (0, 1), got {self.lr!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")


def toy_style_pictures(style: str, count: int, seed: int, token: str = "<style>") -> tuple[torch.Tensor, list[str]]:
    """What the attacker has on the toy world: `count` procedural pictures of `style`, in [0, 1], and a
    caption for each that names its object and puts `token` where the painter's name would be."""
    from .toyworld.prompts import object_phrase
    from .toyworld.world import STYLES, render_batch

    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    require_positive_int("count", count)
    pictures, scenes = render_batch(count, seed=seed, style=style)
    captions = [f"{object_phrase(scene.shape, scene.colour)} in the style of {token}" for scene in scenes]
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous(), captions


def add_token(model: DiffusionModel, token: str, init_word: str) -> int:
    """Add `token` to the model's tokenizer with an embedding row copied from `init_word`'s first token; its id."""
    if token in model.tokenizer.get_vocab():
        raise ValueError(f"token {token!r} is already in the tokenizer; choose a new one")
    init_ids = model.tokenizer(init_word, add_special_tokens=False).input_ids
    if not init_ids:
        raise ValueError(f"init_word must tokenize to at least one token, got {init_word!r}")
    model.tokenizer.add_tokens([token])
    model.text_encoder.resize_token_embeddings(len(model.tokenizer), mean_resizing=False)  # the row is set below
    token_id = model.tokenizer.convert_tokens_to_ids(token)
    embeddings = model.text_encoder.get_input_embeddings().weight
    with torch.no_grad():
        embeddings[token_id] = embeddings[init_ids[0]]
    return token_id


def _clean_latents(model: DiffusionModel, pictures: torch.Tensor) -> torch.Tensor:
    """What the UNet denoises: pictures in [-1, 1] for a pixel model, SD's scaled VAE latents otherwise."""
    pictures = (pictures * 2 - 1).to(model.device, model.dtype)
    if model.vae is None:
        return pictures
    with torch.no_grad():
        encoded = [model.vae.encode(p[None]).latent_dist.mean for p in pictures]  # one at a time: bounded memory
    return torch.cat(encoded) * model.vae.config.scaling_factor


def invert_concept(
    model: DiffusionModel,
    pictures: torch.Tensor,
    captions: list[str],
    config: InversionConfig,
    out_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
) -> list[float]:
    """Learn `config.token`'s embedding on `model` (changed in place: new token, trained row) from
    pictures in [0, 1] and captions containing the token. Returns the losses.

    Every `checkpoint_every` steps the row, its Adam moments and the random state are saved to
    `out_dir`; with `resume=True` a run continues from there and ends exactly as an uninterrupted one.
    The learned row is written to `out_dir/embedding.safetensors` at the end.
    """
    config.validate()
    if len(pictures) != len(captions) or not captions:
        raise ValueError(f"need one caption per picture and at least one, got {len(pictures)} pictures and {len(captions)} captions")
    missing = [c for c in captions if config.token not in c]
    if missing:
        raise ValueError(f"every caption must contain the token {config.token!r}; e.g. {missing[0]!r} does not")
    out_dir = Path(out_dir)
    model.text_encoder.float()  # Adam on a float16 row would round most updates away; the encoder is small
    token_id = add_token(model, config.token, config.init_word)
    embeddings = model.text_encoder.get_input_embeddings().weight
    original = embeddings.detach().clone()
    keep = torch.ones(len(embeddings), dtype=torch.bool, device=embeddings.device)
    keep[token_id] = False
    latents = _clean_latents(model, pictures)
    tokens = prompt_token_ids(model.tokenizer, captions)
    embeddings.requires_grad_(True)
    optimizer = torch.optim.AdamW([embeddings], lr=config.lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    if resume and (out_dir / CHECKPOINT_FILE).exists():
        losses = _load_checkpoint(out_dir, config, embeddings, token_id, optimizer, generator)
    train_steps = model.scheduler.config.num_train_timesteps
    try:
        for step in tqdm(range(len(losses), config.steps), desc="inversion", disable=not progress, initial=len(losses), total=config.steps):
            index = torch.randint(len(latents), (config.batch_size,), generator=generator)
            noise = torch.randn(latents[index].shape, generator=generator).to(model.device, model.dtype)
            timesteps = torch.randint(0, train_steps, (config.batch_size,), generator=generator).to(model.device)
            noisy = model.scheduler.add_noise(latents[index], noise, timesteps)
            text = model.text_encoder(tokens[index].to(model.device))[0].to(model.dtype)
            loss = torch.nn.functional.mse_loss(model.unet(noisy, timesteps, text).sample.float(), noise.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                embeddings[keep] = original[keep]
            losses.append(loss.item())
            if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
                _save_checkpoint(out_dir, config, embeddings, token_id, optimizer, generator, losses)
    finally:
        embeddings.requires_grad_(False)
    save_tensors({config.token: embeddings[token_id]}, out_dir / "embedding.safetensors")
    save_json({"config": asdict(config), "losses": losses}, out_dir / "inversion.json")
    return losses


def _save_checkpoint(out_dir, config, embeddings, token_id, optimizer, generator, losses) -> None:
    state = optimizer.state[embeddings]
    tensors = {
        "row": embeddings[token_id],
        "exp_avg": state["exp_avg"][token_id],
        "exp_avg_sq": state["exp_avg_sq"][token_id],
        "step": state["step"],
        "rng": generator.get_state(),
    }
    metadata = {"config": json.dumps(asdict(config)), "losses": json.dumps(losses)}
    save_tensors(tensors, out_dir / CHECKPOINT_FILE, metadata=metadata)


def _load_checkpoint(out_dir, config, embeddings, token_id, optimizer, generator) -> list[float]:
    """Restore a checkpoint written by the same config. Only the new row's moments are kept: Adam works
    elementwise and every other row is restored after each step, so theirs never reach the result."""
    path = out_dir / CHECKPOINT_FILE
    with safe_open(path, "pt") as handle:
        metadata = handle.metadata()
    if json.loads(metadata["config"]) != asdict(config):
        raise ValueError(f"{path} was written by a different InversionConfig; resume with the same config or a new out_dir")
    tensors = load_file(path)
    with torch.no_grad():
        embeddings[token_id] = tensors["row"].to(embeddings.device)
    exp_avg, exp_avg_sq = torch.zeros_like(embeddings), torch.zeros_like(embeddings)
    exp_avg[token_id], exp_avg_sq[token_id] = tensors["exp_avg"].to(embeddings.device), tensors["exp_avg_sq"].to(embeddings.device)
    optimizer.state[embeddings] = {"step": tensors["step"], "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    generator.set_state(tensors["rng"])
    return json.loads(metadata["losses"])
