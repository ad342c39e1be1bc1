"""Three model tiers behind one interface: `sd14` (the real model), `toy` (shipped) and `tiny` (random).

Every tier is the same set of real components: a CLIP tokenizer and text encoder from
transformers, a diffusers `UNet2DConditionModel` with cross-attention, a DDIM scheduler, and a
decode step (SD's VAE, or nothing for the pixel-space toy model). Code written against a
`DiffusionModel` runs unchanged on all three.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

SD14_HUB_ID = "CompVis/stable-diffusion-v1-4"
MODEL_NAMES = ("sd14", "toy", "tiny")
TOY_ASSETS = Path(__file__).parent / "toyworld" / "assets"
SD_FILES = [
    "scheduler/*",
    "tokenizer/*",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
]


def prompt_token_ids(tokenizer: CLIPTokenizer, prompts: list[str]) -> torch.Tensor:
    """Token ids (prompts, tokenizer length), cut or padded to the tokenizer's length as SD's text encoder reads
    them: every caller that tokenizes prompts does it here, so token positions agree everywhere."""
    return tokenizer(
        list(prompts), padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids


@dataclass
class DiffusionModel:
    """A text-to-image diffusion model: the parts ESD needs, whatever the tier."""

    name: str
    tokenizer: CLIPTokenizer
    text_encoder: CLIPTextModel
    unet: UNet2DConditionModel
    scheduler: DDIMScheduler
    vae: AutoencoderKL | None = None  # None: the UNet works in pixel space

    # Read from the UNet's first layer: diffusers' `unet.device` and `unet.dtype` walk every submodule
    # looking for offloading hooks (milliseconds per read on SD1.4's UNet), and training reads them every step.
    @property
    def device(self) -> torch.device:
        return self.unet.conv_in.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.unet.conv_in.weight.dtype

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of what the UNet denoises: SD1.4's is (4, 64, 64)."""
        size = self.unet.config.sample_size
        return (self.unet.config.in_channels, size, size)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        """CLIP's last hidden states for each prompt, padded to the tokenizer's length, as SD uses them."""
        return self.text_encoder(prompt_token_ids(self.tokenizer, prompts).to(self.device))[0].to(self.dtype)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents to float32 RGB images in [0, 1], shape (batch, 3, height, width).

        SD's VAE decodes one image at a time (diffusers' VAE slicing, switched on at loading): at 512 px
        one float32 decode takes about 0.6 GiB, so a batch decoded at once would scale peak memory.
        """
        if self.vae is not None:
            latents = self.vae.decode(latents.to(self.vae.dtype) / self.vae.config.scaling_factor).sample
        return ((latents.float() + 1) / 2).clamp(0, 1)


def sd14_unet_config() -> dict:
    """Stable Diffusion v1.4's UNet configuration, so its architecture can be built offline."""
    return dict(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32,
    )  # fmt: skip


def sd14_architecture(device: str = "meta") -> UNet2DConditionModel:
    """SD1.4's UNet with random weights; on the "meta" device it takes no memory and no time."""
    with torch.device(device):
        return UNet2DConditionModel(**sd14_unet_config())


def sd14_vae_config() -> dict:
    """SD1.4's VAE (512 px images, 4x64x64 latents), so its decoder's memory can be measured offline."""
    return dict(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
        block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512,
    )  # fmt: skip


def sd14_random_model(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, vae: bool = False) -> DiffusionModel:
    """SD1.4's UNet and text encoder shapes (and with `vae`, its VAE) with random weights, for offline benchmarks.

    The tokenizer is the toy one padded to SD's 77 tokens: shapes, not meaning, are what matter here.
    """
    tokenizer = CLIPTokenizer.from_pretrained(TOY_ASSETS / "tokenizer", model_max_length=77)
    scheduler = sd_scheduler()
    with torch.device(device):  # random initialisation where the weights will live: seconds on a GPU
        text_encoder = CLIPTextModel(sd14_text_config()).eval()
        decoder = AutoencoderKL(**sd14_vae_config()).eval() if vae else None
    model = DiffusionModel("sd14-arch", tokenizer, text_encoder, sd14_architecture(device), scheduler, decoder)
    for module in (model.unet, model.text_encoder, model.vae):
        if module is not None:
            module.requires_grad_(False).to(device=device, dtype=dtype)
    if vae:
        model.vae.enable_slicing()
    return model


def sd14_text_config() -> CLIPTextConfig:
    """The text encoder of SD1.4 (CLIP ViT-L/14's), for offline shape and memory checks."""
    return CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        max_position_embeddings=77, hidden_act="quick_gelu",
    )  # fmt: skip


def toy_unet_config() -> dict:
    """The toy model's pixel-space UNet: 32x32 RGB, cross-attention at 16x16 and 8x8, like SD's layout."""
    return dict(
        sample_size=32, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(32, 64, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=64,
        attention_head_dim=4, norm_num_groups=8,
    )  # fmt: skip


def toy_text_config(tokenizer: CLIPTokenizer, width: int = 64, layers: int = 2) -> CLIPTextConfig:
    """A small CLIP text encoder over the toy tokenizer (the toy model trains it with its UNet)."""
    return CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers,
        num_attention_heads=4 if width >= 64 else 2, max_position_embeddings=tokenizer.model_max_length,
        projection_dim=width, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip


def sd_scheduler() -> DDIMScheduler:
    """SD1.x's noise schedule (scaled linear betas, 1000 steps), for the models built in code."""
    return DDIMScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False, set_alpha_to_one=False, steps_offset=1
    )


def toy_scheduler() -> DDIMScheduler:
    """The noise schedule the toy model is trained and sampled with (cosine, 1000 steps)."""
    return DDIMScheduler(
        num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", clip_sample=True, set_alpha_to_one=False,
        steps_offset=1, prediction_type="epsilon",
    )  # fmt: skip


def tiny_model(seed: int = 0, prompt_tokens: int | None = None) -> DiffusionModel:
    """A random SD-shaped latent model (VAE, 4 latent channels), small enough for unit tests; its prompts are the
    toy tokenizer's 20 tokens long, or `prompt_tokens` (SD's 77, for `offline.tiny_sd_model`)."""
    torch.manual_seed(seed)
    length = {"model_max_length": prompt_tokens} if prompt_tokens else {}
    tokenizer = CLIPTokenizer.from_pretrained(TOY_ASSETS / "tokenizer", **length)
    text_encoder = CLIPTextModel(toy_text_config(tokenizer, width=32, layers=1))
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=2, norm_num_groups=8,
    )  # fmt: skip
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16), norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32,
    )  # fmt: skip
    scheduler = sd_scheduler()
    vae.enable_slicing()
    return DiffusionModel("tiny", tokenizer, text_encoder.eval(), unet, scheduler, vae.eval())


def _toy() -> DiffusionModel:
    """The shipped toy model, read from safetensors files inside the package (no network)."""
    from safetensors.torch import load_file

    tokenizer = CLIPTokenizer.from_pretrained(TOY_ASSETS / "tokenizer")
    text_encoder = CLIPTextModel(toy_text_config(tokenizer))
    unet = UNet2DConditionModel(**toy_unet_config())
    for module, filename in ((text_encoder, "text_encoder.safetensors"), (unet, "unet.safetensors")):
        path = TOY_ASSETS / filename
        if not path.exists():
            raise FileNotFoundError(f"toy weights {path} are missing; train them with `python -m gridlib.toyworld.train`")
        state = {k: v.float() for k, v in load_file(path).items()}
        module.load_state_dict(state)
    return DiffusionModel("toy", tokenizer, text_encoder.eval(), unet, toy_scheduler())


def _stable_diffusion(source: str, dtype: torch.dtype) -> DiffusionModel:
    """SD1.x from a diffusers folder on disk, or downloaded (safetensors only) from the hub."""
    folder = Path(source)
    if not folder.is_dir():
        folder = _download(source)
    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=dtype, use_safetensors=True)
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=dtype, use_safetensors=True)
    text_encoder = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", torch_dtype=dtype, use_safetensors=True)
    tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer")
    scheduler = DDIMScheduler.from_pretrained(folder, subfolder="scheduler")
    vae.enable_slicing()
    return DiffusionModel(str(source), tokenizer, text_encoder.eval(), unet, scheduler, vae.eval())


def _download(repo_id: str) -> Path:
    """Fetch a diffusers SD repository's safetensors and configs; fail at once, clearly, without a hub."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=SD_FILES))
    except Exception as error:  # no network, no such repository, or gated without a token
        raise RuntimeError(
            f"could not download {repo_id!r} from the Hugging Face hub ({type(error).__name__}: {error}). "
            "Stable Diffusion needs hub access (Colab, or your own GPU machine); offline, use "
            "load_model('toy') for the shipped toy model or load_model('tiny') for random test weights."
        ) from error


def load_model(name: str = "toy", device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> DiffusionModel:
    """Load a model tier by name: "sd14", "toy" or "tiny"; any other SD1.x hub id or local folder works as SD.

    `device` defaults to CUDA when available; `dtype` to float16 for SD on a GPU and float32 otherwise.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"model name must be one of {MODEL_NAMES} or an SD1.x hub id / folder, got {name!r}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    is_sd = name not in ("toy", "tiny")
    if dtype is None:
        dtype = torch.float16 if is_sd and device.type == "cuda" else torch.float32
    if name == "tiny":
        model = tiny_model()
    elif name == "toy":
        model = _toy()
    elif name == "sd14" or "/" in name or os.path.isdir(name):
        model = _stable_diffusion(SD14_HUB_ID if name == "sd14" else name, dtype)
    else:
        raise ValueError(f"model name must be one of {MODEL_NAMES} or an SD1.x hub id / folder, got {name!r}")
    for module in (model.unet, model.text_encoder, model.vae):
        if module is not None:
            module.requires_grad_(False).to(device)
            if module.dtype != dtype:
                module.to(dtype)
    return model
