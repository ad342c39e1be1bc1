"""The statistics every table uses: rates with intervals, changes of rates, and comparisons over runs.

Pure Python on counts and lists of numbers; nothing here knows about models or results files.
Two kinds of sample appear in the book. Images: a rate over n images gets a Wilson interval.
Training runs: several runs of one setting pooled together are not independent images (each run
is its own draw of weights), so a rate pooled over runs also gets an interval with the run as the
unit (`run_interval`), and two settings are compared over their runs (`compare_runs`).
"""

import math
import statistics

# Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom; beyond 30, the normal's 1.96.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def t_quantile(degrees_of_freedom: int) -> float:
    """The two-sided 95% quantile of Student's t (1.96 beyond 30 degrees of freedom)."""
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom must be at least 1, got {degrees_of_freedom}")
    return _T95[degrees_of_freedom - 1] if degrees_of_freedom <= len(_T95) else 1.96


def summary(values: list[float]) -> dict:
    """Mean and sample standard deviation over runs (0 for one run)."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a rate (95% by default): honest at 0 or n successes, where the normal one collapses."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes} of {trials}")
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(after: tuple[int, int], before: tuple[int, int], z: float = 1.96) -> tuple[float, float]:
    """Newcombe's 95% interval for a change of rate, after minus before, each given as (successes, trials).

    Built from the two Wilson intervals, treating the samples as independent: for same-seed images of
    two models, which agree more often than chance, the interval is wider than it needs to be.
    """
    (p1, (l1, u1)), (p2, (l2, u2)) = ((k / n, wilson_interval(k, n, z)) for k, n in (after, before))
    change = p1 - p2
    return change - math.hypot(p1 - l1, u2 - p2), change + math.hypot(u1 - p1, p2 - l2)


def run_interval(rates: list[float]) -> tuple[float, float]:
    """A 95% t-interval for the mean rate over training runs, each run one observation, clipped to [0, 1].

    With one run there is no spread to measure: the interval is (0, 1), which says exactly that.
    """
    if not rates:
        raise ValueError("need at least one run's rate")
    if len(rates) == 1:
        return 0.0, 1.0
    mean, half = statistics.fmean(rates), t_quantile(len(rates) - 1) * statistics.stdev(rates) / math.sqrt(len(rates))
    return max(0.0, mean - half), min(1.0, mean + half)


def compare_runs(first: list[float], second: list[float]) -> dict:
    """How the mean of `second`'s runs differs from `first`'s, in points, and whether run-to-run spread explains it.

    The difference is called resolved when it exceeds twice its standard error, sqrt(s1^2/n1 + s2^2/n2)
    (a Welch-style error; with 3 to 5 runs a side, roughly a 95% two-sided test).
    """
    difference = 100 * (statistics.fmean(second) - statistics.fmean(first))
    error = 100 * math.sqrt(sum((statistics.variance(r) if len(r) > 1 else 0.0) / len(r) for r in (first, second)))
    return {"difference_points": round(difference, 1), "standard_error_points": round(error, 1), "resolved": abs(difference) > 2 * error}
