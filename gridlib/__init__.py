"""gridlib: grid-masked ESD-X, the library behind the book.

Modules, in the order the book meets them:
    masks       grid and centre masks, and the single weight map a mask set amounts to
    models      one interface for three tiers: "sd14", "toy" (shipped) and "tiny" (random)
    esd         which tensors train (ESD-X: attn2), the ESD target, the masked loss
    sampling    DDIM with classifier-free guidance, whole images or down to a timestep
    train       TrainConfig, the training loop, checkpoints and exact resume
    weights     erasure.safetensors + metadata.json, and applying them safely
    evaluate    judges, erasure and preservation rates, comparison tables
    experiments equal-compute ablations
    report      results files as the book's tables; the report's claims checked
    reference   the original two-model algorithm, for benchmarks
    viz         figures and the mask explorer
    toyworld    the toy world: generator, prompts, tokenizer, classifier, toy model training
"""
