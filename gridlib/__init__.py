"""gridlib: grid-masked ESD-X, the library behind the book.

Five layers, each importing only from those before it (tests/test_layout.py checks it):

core: the algorithm
    masks          grid and centre masks, and the single weight map a mask set amounts to      chapter 1
    models         one interface for three tiers: "sd14", "toy" (shipped) and "tiny" (random)     every chapter
    esd            which tensors train (ESD-X: attn2), the ESD target, the masked loss          chapter 2
    sampling       DDIM with classifier-free guidance, whole images or down to a timestep       chapters 2, 3
    train_config   TrainConfig: everything that defines one erasure run, checked               chapter 3
    train          one ESD step, the training loop, checkpoints and exact resume                chapter 3
    weights        erasure.safetensors + metadata.json, and applying them safely                chapters 3, 4
    concept_maps   per-example loss weights that follow the concept                             chapter 6
    inversion      concept inversion: a new word learned on a frozen model (the attack)         chapter 7
    prompts        Stable Diffusion's prompts: the SD recipe's 20, the SD evaluation's styles
    reference      the original two-model algorithm, for benchmarks
    offline        stand-ins for the hub: an SD-layout folder, a tiny CLIP
    toyworld       the toy world: generator, prompts, tokenizer, judge, toy model training
    checks, files  argument checks; atomic writes
measure: judging what an erasure did
    judges         the evaluation suites, the toy judge and CLIP zero-shot                      chapter 4
    measure        every case judged and counted; the book's targets                            chapter 4
    stats          Wilson and Newcombe intervals, intervals over runs, comparisons of runs
    fidelity       the original model under each sampler setting                               the toy world page
    settings       per-tier settings and the named recipes (toy, sd14, sd14-paper)            chapter 3
studies: many erasures, one results file
    studies        named settings at equal compute                                             chapters 5, 6
    experiments    the study and the erasure check                                              chapters 5, 6, appendix
    attacks        leak tests and the inversion attack on ESD-X, ESD-U and full fine-tuning     chapter 7
    runs           many trainings, one after another or side by side, timed
    results        the one results format: writer, reader, provenance
    presets        every committed results file, named, with its command
book: what the pages show
    tables         Markdown tables and rates with their intervals
    study_tables, check_tables, attack_tables   each kind of results file as tables
    claims         the seed report's claims next to what was measured; benchmark tables
    viz            figures and the mask explorer
    book           executing the notebooks and building the book
command line: python -m gridlib <command>
    arguments, cli
"""
