"""gridlib: grid-masked ESD-X, the library behind the book.

Modules, in the order the book meets them:
    masks       grid and centre masks, and the single weight map a mask set amounts to
    models      one interface for three tiers: "sd14" (the real model), "toy" (shipped) and "tiny" (random)
    esd         which tensors train (ESD-X: attn2), the ESD target, the masked loss
    sampling    DDIM with classifier-free guidance: whole images, or down to each example's own timestep
    prompts     Stable Diffusion's prompts: the SD recipe's 20, and the SD evaluation's styles
    concept_maps per-example loss weights that follow the concept (chapter 6)
    train       TrainConfig, the training loop, checkpoints and exact resume
    weights     erasure.safetensors + metadata.json, and applying them safely
    evaluate    judges, style rates, erasure and preservation tables
    scorecard   every evaluation prompt judged for style, shape and colour; targets on intervals
    fidelity    the original model's fidelity under each sampler setting (steps x guidance)
    settings    per-tier settings: each model's recipe, evaluation steps, guidance, batches and judge
    runs        many trainings, one after another or side by side, timed
    studies     what a study trains: named settings at equal compute
    experiments running studies and the erasure check, writing results files
    report      results files as the book's tables and statistics
    claims      the report's claims checked; the benchmark table
    inversion   concept inversion: a new token's embedding learned on a frozen model (an attack)
    attacks     is it really gone? leak tests and the inversion attack on ESD-X, ESD-U and full fine-tuning
    reference   the original two-model algorithm, for benchmarks
    offline     stand-ins for the hub: an SD-layout folder, a tiny CLIP
    viz         figures and the mask explorer
    toyworld    the toy world: generator, prompts, tokenizer, judge (style, shape, colour), toy model training
    checks, files, book: argument checks, atomic writes, building the book
"""
