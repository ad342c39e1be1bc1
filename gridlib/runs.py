"""Running many trainings: one after another or side by side, each timed.

The studies (`gridlib.experiments`) train dozens of erasures; this module is how: `map_runs`
keeps the order of its jobs whatever the number of workers, and `timed_training` records each
run's wall time and final loss.
"""

import multiprocessing
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checks import require_positive_int
from .train import TrainConfig, train_erasure


def timed_training(model, config: TrainConfig, out_dir: Path) -> dict:
    """Train `model` in place; the run's wall time and its final loss (the mean of the last 10)."""
    began = time.time()
    losses = train_erasure(model, config, out_dir, progress=False)
    return {"train_s": round(time.time() - began, 1), "final_loss": statistics.fmean(losses[-10:])}


def map_runs(function: Callable, jobs: list[tuple], workers: int = 1, progress: bool = True, desc: str = "runs") -> list:
    """`[function(*job) for job in jobs]`, in order; with `workers` > 1, in that many single-threaded processes.

    Every run draws from its own seeds, so the results are those of running one after another
    (up to float rounding, which can differ between thread counts). On a 2-core machine two
    single-threaded runs side by side were measured no faster than one two-threaded run after
    another, so one at a time is the default; more cores may differ.
    """
    require_positive_int("workers", workers)
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress)
    if workers == 1:
        results = []
        for job in jobs:
            results.append(function(*job))
            bar.update(1)
    else:
        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=torch.set_num_threads, initargs=(1,)
        ) as pool:
            futures = [pool.submit(function, *job) for job in jobs]
            for _ in as_completed(futures):
                bar.update(1)
            results = [future.result() for future in futures]
    bar.close()
    return results
