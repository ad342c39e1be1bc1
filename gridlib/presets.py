"""Every committed results file, named: the command that writes it, what it measures, and how long it takes.

`python -m gridlib reproduce --list` prints this table; `python -m gridlib reproduce NAME` runs the
preset's command and rewrites its file. A preset is nothing but a command line, so each file's
`run.command` says exactly how to measure it again; the times are from the files' own records,
on 2 CPU cores with two runs side by side.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """One results file and the `python -m gridlib` command (without `--out`) that writes it."""

    file: str
    command: tuple[str, ...]
    measures: str
    minutes: int  # on 2 CPU cores, from the file's own record


def _check(*flags: str) -> tuple[str, ...]:
    return ("check", "--workers", "2", *flags)


def _study(*flags: str) -> tuple[str, ...]:
    return ("study", "--workers", "2", *flags)


def _attack(*flags: str) -> tuple[str, ...]:
    return ("attack", "--workers", "2", *flags)


EVERY_LEVEL = ("--noise-levels", "0,1")
CANDIDATES = "results/recipe_candidates"

PRESETS = {
    "toy_fidelity": Preset(
        "results/toy_fidelity.json",
        ("fidelity", "--steps", "10,20,50", "--guidance", "1.5,2.5"),
        "the original toy model under each sampler setting: every held-out case judged for style, shape and colour",
        9,
    ),
    "toy_erasure": Preset(
        "results/toy_erasure.json",
        _check(),
        "the toy recipe, 3 seeds: every evaluation case on 2 image seeds, before and after, and the targets",
        17,
    ),
    "attacks": Preset(
        "results/attacks.json",
        _attack(),
        "chapter 7: the original model, ESD-X, ESD-U and full fine-tuning, 3 seeds each: leaks, the inversion attack, preservation",
        19,
    ),
    "attacks_every_noise_level": Preset(
        "results/attacks_every_noise_level.json",
        _attack("--variants", "esd_x", *EVERY_LEVEL),
        "chapter 7's control: ESD-X trained from every noise level instead of the noisier half",
        6,
    ),
    "attacks_200_iterations_every_level": Preset(
        "results/attacks_200_iterations_every_level.json",
        _attack("--variants", "esd_x", "--iterations", "200", *EVERY_LEVEL),
        "chapter 7's second control: ESD-X for 200 iterations from every noise level",
        6,
    ),
    "ablations": Preset(
        "results/ablations.json",
        _study(),
        "chapter 5: the equal-compute ablation (mask sets, x_t routes), x_t sampled in 10 DDIM steps, 3 seeds",
        11,
    ),
    "ablations_ddim20": Preset(
        "results/ablations_ddim20.json",
        _study("--ddim-steps", "20"),
        "the same ablation with x_t sampled in 20 DDIM steps",
        15,
    ),
    "masks_noise": Preset(
        "results/masks_noise.json",
        _study(
            "--xt-source",
            "noise",
            "--seeds",
            "0,1,2,3,4",
            "--settings",
            "none,grid3_center,grid4,grid5,multiscale,difference_1,difference_3,adaptive_grid_1,adaptive_grid_3,attention_1,attention_3",
        ),  # fmt: skip
        "chapters 5 and 6 on the recipe's route: every mask set and concept map, 5 seeds",
        27,
    ),
    "masks_sampled": Preset(
        "results/masks_sampled.json",
        _study("--settings", "none,grid3_center,difference_3,adaptive_grid_3,attention_3"),
        "chapter 6 on ESD's sampled x_t: plain ESD-X, the grid and each concept map at sharpness 3, 3 seeds",
        9,
    ),
    "recipe_reliability": Preset(
        "results/recipe_reliability.json",
        _study("--settings", "grid3_center,noise_equal_iterations", "--ddim-steps", "20", "--seeds", "0,1,2,3,4,5,6,7"),
        "how often one run meets the targets, on each x_t route, 8 seeds",
        11,
    ),
    "recipe_reliability_eval20": Preset(
        "results/recipe_reliability_eval20.json",
        _study(
            "--settings",
            "grid3_center,noise_equal_iterations",
            "--ddim-steps",
            "20",
            "--seeds",
            "0,1,2,3,4,5,6,7",
            "--cases-per-style",
            "64",
            "--sample-steps",
            "20",
        ),  # fmt: skip
        "the same 16 trainings judged at 20 DDIM steps per image",
        16,
    ),
    "recipe_neighbours": Preset(
        "results/recipe_neighbours.json",
        _study(
            "--xt-source",
            "noise",
            "--iterations",
            "200",
            *EVERY_LEVEL,
            "--settings",
            "grid3_center,eta_1,lr_3e-4,noise_100",
        ),  # fmt: skip
        "the recipe's neighbours from 200 iterations at every noise level: lr, eta and length",
        7,
    ),
    "recipe_object_prompts_empty_anchor": Preset(
        "results/recipe_object_prompts.json",
        _check("--neutral-prompts", "empty"),
        "the recipe's object-naming prompts with ESD's empty anchor",
        14,
    ),
    "recipe_painter_prompts_empty_anchor": Preset(
        "results/recipe_painter_prompts.json",
        _check("--prompts", "toy_painter", "--neutral-prompts", "empty"),
        "ten prompts that name only the painter, with ESD's empty anchor",
        17,
    ),
    "report_recipe_on_toy": Preset(
        "results/report_recipe_on_toy.json",
        _check("--recipe", "sd14", "--prompts", "toy_painter", "--cases-per-style", "24", "--image-seeds", "5000"),
        "the report's recipe as written (lr 1e-5, 100 iterations, eta 1, x_t sampled in 50 DDIM steps) on the toy model",
        5,
    ),
    "recipe_every_noise_level": Preset(
        f"{CANDIDATES}/eta2_iterations100_all_noise_levels.json",
        _check(*EVERY_LEVEL),
        "the recipe with x_t from every noise level",
        17,
    ),
    "recipe_cleaner_half": Preset(
        f"{CANDIDATES}/eta2_iterations100_cleaner_half.json",
        _check("--noise-levels", "0,0.5"),
        "the recipe with x_t from the cleaner half of the schedule",
        16,
    ),
    "recipe_eta1": Preset(
        f"{CANDIDATES}/eta1_iterations100.json",
        _check("--negative-guidance", "1", *EVERY_LEVEL),
        "eta 1 instead of 2, every noise level",
        14,
    ),
    "recipe_eta1_200_iterations": Preset(
        f"{CANDIDATES}/eta1_iterations200.json",
        _check("--negative-guidance", "1", "--iterations", "200", *EVERY_LEVEL),
        "eta 1 for 200 iterations, every noise level",
        17,
    ),
    "recipe_200_iterations": Preset(
        f"{CANDIDATES}/eta2_iterations200.json",
        _check("--iterations", "200", *EVERY_LEVEL),
        "200 iterations instead of 100, every noise level",
        17,
    ),
    "recipe_no_orange_prompts": Preset(
        f"{CANDIDATES}/eta2_iterations100_no_orange_prompts.json",
        _check("--prompts", "toy_no_orange", *EVERY_LEVEL),
        "the 16 recipe prompts that name no orange circle or square, every noise level",
        15,
    ),
}
