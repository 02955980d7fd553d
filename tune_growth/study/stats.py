"""Effect sizes with confidence intervals that hold at the seed counts a study can afford, and
their intervals (verdicts.py says what they mean). numpy and scipy.stats; no Ray.

Two effects compare a schedule B against a reference A:
- accuracy: mean final test accuracy of B minus A, in percentage points;
- speed-up: 1 - (geometric mean over seeds of cost_B / cost_A) to reach a target accuracy, where
  cost is compute or training seconds; a seed that never reached the target counts at its full
  budget (a conservative, censored value), and how many seeds reached it is reported beside.

**Paired where seeds are shared.** Runs of one study with the same seed share their
initialization and data order, so their accuracies move together; the analysis works on per-seed
differences (accuracy) and per-seed log ratios (cost), and its interval is Student's t on those n
values with n - 1 degrees of freedom: exact for normal differences at any n >= 2, and tested for
coverage at n = 3 and n = 5 here, where a percentile bootstrap over seeds covers far less than
its nominal 95% (it can only return values it has seen: with 2 seeds, the two). Groups that share
no seeds fall back to Welch's t on the two groups.

**No interval narrower than the measurement.** A time to target is read off evaluations spaced
through the run: the crossing lies between the last evaluation below the target and the first at
or above it, and is interpolated linearly between them (`crossing`). The interval's ends are
taken at the ends of those brackets (its low end with B crossing as late and A as early as the
evaluations allow, its high end the reverse), so a crossing quantised to the same evaluation in
every seed still gives an interval as wide as the evaluations are apart; the bracket's median
width is reported as the effect's resolution.

A study needs at least MIN_SEEDS seeds (refused below); below WARN_SEEDS it is run with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

MIN_SEEDS, WARN_SEEDS = 3, 5
LEVEL = 0.95


@dataclass(frozen=True)
class Effect:
    """An effect's estimate and 95% interval, how they were computed, and for a time to target the
    evaluations' resolution; what it means is a verdicts.Verdict."""

    estimate: float
    low: float
    high: float
    method: str = "paired t"
    resolution: float | None = None  # time to target: median evaluation bracket, as a fraction of A's cost
    unresolved: int = 0  # time to target: runs that crossed by their first evaluation (no lower bracket)
    # the t test behind the interval: two-sided p that the difference is 0, the standard error and
    # degrees of freedom (accuracy: points; time to target: of the log cost ratios at the interpolated
    # crossings, the brackets aside)
    p_value: float | None = None
    se: float | None = None
    df: float | None = None

    @property
    def detectable(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


def seed_warning(seeds: int, refuse: bool = True) -> str | None:
    """None at >= WARN_SEEDS seeds; a warning below it; below MIN_SEEDS a ValueError (`refuse`), or
    a warning that the intervals do not hold (reanalysing an older study)."""
    if seeds < MIN_SEEDS:
        if not refuse:
            return f"warning: {seeds} seeds: fewer than {MIN_SEEDS}, the intervals do not hold their 95%"
        raise ValueError(f"--seeds {seeds} is invalid; expected >= {MIN_SEEDS} (a 95% interval from fewer seeds "
                         f"cannot hold its promise), {WARN_SEEDS} or more recommended")
    if seeds < WARN_SEEDS:
        return (f"warning: {seeds} seeds: the intervals hold their 95% but are wide (t with {seeds - 1} degrees of "
                f"freedom); {WARN_SEEDS} or more seeds are recommended")
    return None


@dataclass(frozen=True)
class TTest:
    """A t interval for a mean difference with the test behind it (se 0: identical differences,
    certain in the direction of their sign, p 0, or 1 for a difference of exactly 0)."""

    estimate: float
    low: float
    high: float
    p_value: float
    se: float
    df: float


def _t_test(test: Callable, estimate: float, *samples: np.ndarray, level: float, **options) -> TTest:
    """scipy.stats `test` on `samples`, without its warning on identical values: crossings
    quantised to the same evaluation in every seed give them, and a zero-width interval is then
    the right answer (the brackets widen it; see `speedup`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Precision loss occurred in moment calculation", RuntimeWarning)
        result = test(*samples, **options)
        low, high = result.confidence_interval(level)
    df = float(result.df)
    if all(np.ptp(np.asarray(x, dtype=float)) == 0 for x in samples if np.ndim(x)):  # no spread in any group
        se = 0.0  # (Welch's df is then 0/0: scipy's interval is NaN, but the difference is certain)
    else:
        se = float((high - low) / (2 * st.t.ppf(0.5 + level / 2, df))) if np.isfinite(high - low) else float("nan")
    p = float(result.pvalue) if se > 0 else (0.0 if estimate != 0 else 1.0)
    return TTest(estimate, float(low), float(high), p, se, df)


def _t_test_interval(test: Callable, *samples: np.ndarray, level: float, **options) -> tuple[float, float]:
    """(low, high) of `_t_test`."""
    t = _t_test(test, 0.0, *samples, level=level, **options)
    return t.low, t.high


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval for the mean of `values` (n >= 2)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        raise ValueError(f"a t interval needs >= 2 values; got {len(values)}")
    return (float(values.mean()), *_t_test_interval(st.ttest_1samp, values, 0.0, level=level))


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean(b) - mean(a), low, high): Welch's t interval for two independent groups."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Welch interval needs >= 2 values per group; got {len(a)} and {len(b)}")
    return (float(b.mean() - a.mean()), *_t_test_interval(st.ttest_ind, b, a, level=level, equal_var=False))


def difference_test(a: np.ndarray, b: np.ndarray, paired: bool, level: float = LEVEL) -> TTest:
    """Mean of b - a with its interval and test: paired t on the differences, or Welch for
    independent groups."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired groups need one value per seed each; got {len(a)} and {len(b)}")
        d = b - a
        if len(d) < 2:
            raise ValueError(f"a t interval needs >= 2 values; got {len(d)}")
        return _t_test(st.ttest_1samp, float(d.mean()), d, 0.0, level=level)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Welch interval needs >= 2 values per group; got {len(a)} and {len(b)}")
    return _t_test(st.ttest_ind, float(b.mean() - a.mean()), b, a, level=level, equal_var=False)


def _interval(a: np.ndarray, b: np.ndarray, paired: bool, level: float) -> tuple[float, float, float]:
    """(estimate, low, high) of `difference_test`."""
    t = difference_test(a, b, paired, level)
    return t.estimate, t.low, t.high


def accuracy_difference(reference: np.ndarray, other: np.ndarray, paired: bool = True,
                        level: float = LEVEL) -> Effect:
    """Mean accuracy of `other` minus `reference`, in percentage points; `paired`: element i of
    each is the same seed."""
    t = difference_test(100 * np.asarray(reference, float), 100 * np.asarray(other, float), paired, level)
    return Effect(t.estimate, t.low, t.high, "paired t" if paired else "Welch t", p_value=t.p_value, se=t.se,
                  df=t.df)


def _log(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if (x <= 0).any():
        raise ValueError(f"costs must be > 0; got {x.min()}")
    return np.log(x)


def speedup(reference_cost: np.ndarray, other_cost: np.ndarray, paired: bool = True, level: float = LEVEL,
            reference_bracket: tuple | None = None, other_bracket: tuple | None = None) -> Effect:
    """1 - geometric mean of other / reference cost: the fraction of the cost saved (negative =
    slower), with a t interval on the log ratios. The brackets, (lows, highs) per seed, are where
    each crossing could lie between evaluations; the interval's ends are taken at their ends."""
    a, b = np.asarray(reference_cost, float), np.asarray(other_cost, float)
    method = "paired t on log ratios" if paired else "Welch t on logs"
    test = difference_test(_log(a), _log(b), paired, level)
    est, low, high, tested = test.estimate, test.low, test.high, {"p_value": test.p_value, "se": test.se, "df": test.df}
    resolution, unresolved = None, 0
    if reference_bracket is not None or other_bracket is not None:
        a_lo, a_hi = (np.asarray(v, float) for v in (reference_bracket or (a, a)))
        b_lo, b_hi = (np.asarray(v, float) for v in (other_bracket or (b, b)))
        widths = np.concatenate([a_hi - a_lo, b_hi - b_lo])
        resolution = float(np.median(widths) / a.mean()) if a.mean() > 0 else None
        unresolved = int((a_lo <= 0).sum() + (b_lo <= 0).sum())
        if unresolved:  # a crossing before the first evaluation has no lower bound: nothing can be claimed
            return Effect(float(1 - np.exp(est)), -np.inf, 1.0, method, resolution, unresolved)  # and no test
        high = _interval(np.log(a_lo), np.log(b_hi), paired, level)[2]  # B late, A early: the least saved
        low = _interval(np.log(a_hi), np.log(b_lo), paired, level)[1]  # B early, A late: the most saved
    # log ratio up = B costlier = less saved: the ends swap
    return Effect(float(1 - np.exp(est)), float(1 - np.exp(high)), float(1 - np.exp(low)), method, resolution,
                  **tested)


def crossing(cost: np.ndarray, acc: np.ndarray, target: float) -> tuple[float, float, float, bool]:
    """Where an accuracy curve first reaches `target`: (cost interpolated linearly between the
    two evaluations around the crossing, the earlier one's cost, the later one's, reached). A
    crossing at the first evaluation brackets (0, its cost) and is read at its cost; a curve that
    never reaches it is censored at its last cost (all three)."""
    cost, acc = np.asarray(cost, float), np.asarray(acc, float)
    hits = np.flatnonzero(acc >= target)
    if len(hits) == 0:
        return float(cost[-1]), float(cost[-1]), float(cost[-1]), False
    i = int(hits[0])
    if i == 0:
        return float(cost[0]), 0.0, float(cost[0]), True
    x0, x1, y0, y1 = cost[i - 1], cost[i], acc[i - 1], acc[i]
    return float(x0 + (target - y0) / (y1 - y0) * (x1 - x0)), float(x0), float(x1), True
