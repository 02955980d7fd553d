"""Effect sizes with confidence intervals that hold at the seed counts a study can afford, and
plain verdicts. Pure numpy (and scipy's t quantiles); no Ray.

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

from dataclasses import dataclass

import numpy as np
from scipy import stats as st

MIN_SEEDS, WARN_SEEDS = 3, 5
LEVEL = 0.95


@dataclass(frozen=True)
class Effect:
    estimate: float
    low: float
    high: float
    method: str = "paired t"
    resolution: float | None = None  # time to target: median evaluation bracket, as a fraction of A's cost
    unresolved: int = 0  # time to target: runs that crossed by their first evaluation (no lower bracket)

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


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval for the mean of `values` (n >= 2)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        raise ValueError(f"a t interval needs >= 2 values; got {n}")
    mean, half = values.mean(), st.t.ppf((1 + level) / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return float(mean), float(mean - half), float(mean + half)


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean(b) - mean(a), low, high): Welch's t interval for two independent groups."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Welch interval needs >= 2 values per group; got {len(a)} and {len(b)}")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else len(a) + len(b) - 2
    diff, half = b.mean() - a.mean(), st.t.ppf((1 + level) / 2, df) * se
    return float(diff), float(diff - half), float(diff + half)


def _interval(a: np.ndarray, b: np.ndarray, paired: bool, level: float) -> tuple[float, float, float]:
    """Mean of b - a with its interval: paired t on the differences, or Welch for independent groups."""
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired groups need one value per seed each; got {len(a)} and {len(b)}")
        return t_interval(np.asarray(b, dtype=float) - np.asarray(a, dtype=float), level)
    return welch_interval(a, b, level)


def accuracy_difference(reference: np.ndarray, other: np.ndarray, paired: bool = True,
                        level: float = LEVEL) -> Effect:
    """Mean accuracy of `other` minus `reference`, in percentage points; `paired`: element i of
    each is the same seed."""
    est, low, high = _interval(100 * np.asarray(reference, float), 100 * np.asarray(other, float), paired, level)
    return Effect(est, low, high, "paired t" if paired else "Welch t")


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
    est, low, high = _interval(_log(a), _log(b), paired, level)
    resolution, unresolved = None, 0
    if reference_bracket is not None or other_bracket is not None:
        a_lo, a_hi = (np.asarray(v, float) for v in (reference_bracket or (a, a)))
        b_lo, b_hi = (np.asarray(v, float) for v in (other_bracket or (b, b)))
        widths = np.concatenate([a_hi - a_lo, b_hi - b_lo])
        resolution = float(np.median(widths) / a.mean()) if a.mean() > 0 else None
        unresolved = int((a_lo <= 0).sum() + (b_lo <= 0).sum())
        if unresolved:  # a crossing before the first evaluation has no lower bound: nothing can be claimed
            return Effect(float(1 - np.exp(est)), -np.inf, 1.0, method, resolution, unresolved)
        high = _interval(np.log(a_lo), np.log(b_hi), paired, level)[2]  # B late, A early: the least saved
        low = _interval(np.log(a_hi), np.log(b_lo), paired, level)[1]  # B early, A late: the most saved
    # log ratio up = B costlier = less saved: the ends swap
    return Effect(float(1 - np.exp(est)), float(1 - np.exp(high)), float(1 - np.exp(low)), method, resolution)


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


def accuracy_verdict(effect: Effect) -> str:
    if not effect.detectable:
        return f"no detectable difference in accuracy ({effect.estimate:+.2f} points [{effect.low:+.2f}, {effect.high:+.2f}])"
    word = "more" if effect.estimate > 0 else "less"
    return f"{abs(effect.estimate):.2f} points {word} accurate [{effect.low:+.2f}, {effect.high:+.2f}]"


def speed_verdict(effect: Effect, target: float, unit: str, reached: int, seeds: int,
                  reference_reached: int | None = None) -> str:
    """e.g. 'reaches 97.5% 23% sooner in compute [12%, 31%]'. A seed that missed the target is
    counted at its full budget, which understates its true cost: so "sooner" is claimed only when
    every seed of the schedule reached the target, and "slower" only when every seed of the
    reference did (each claim stays valid when the other side is censored: the truth is further
    the same way)."""
    ref_reached = seeds if reference_reached is None else reference_reached
    tail = "" if reached == seeds else f" ({reached}/{seeds} seeds reached it)"
    interval = f"[{100 * effect.low:+.0f}%, {100 * effect.high:+.0f}%]"
    if effect.resolution is not None:
        interval += f" (evaluations {100 * effect.resolution:.0f}% apart)"
    if reached == 0:
        return f"never reached {target:.1%} (0/{seeds} seeds)"
    if effect.unresolved:
        return (f"unresolved: {effect.unresolved} runs reached {target:.1%} by their first evaluation "
                f"(evaluations {100 * (effect.resolution or 0):.0f}% apart; evaluate more often)")
    if effect.detectable and effect.estimate > 0 and reached < seeds:
        return f"inconclusive: only {reached}/{seeds} seeds reached {target:.1%}"
    if effect.detectable and effect.estimate < 0 and ref_reached < seeds:
        return f"inconclusive: the reference reached {target:.1%} in only {ref_reached}/{seeds} seeds"
    if not effect.detectable:
        return f"no detectable difference in {unit} to {target:.1%} {interval}{tail}"
    if effect.estimate > 0:
        return f"reaches {target:.1%} {100 * effect.estimate:.0f}% sooner in {unit} {interval}{tail}"
    return f"slower: reaches {target:.1%} with {100 * -effect.estimate:.0f}% more {unit} {interval}{tail}"
