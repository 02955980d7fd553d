"""Effect sizes with bootstrap confidence intervals, and plain verdicts. Pure numpy; no Ray.

Two effects compare a schedule B against a reference A over independent seeds:
- accuracy: mean final test accuracy of B minus A, in percentage points;
- speed-up: 1 - mean(cost of B) / mean(cost of A) to reach a target accuracy, where cost is
  compute or wall seconds; a seed that never reached the target counts at its full budget (a
  conservative, censored value), and how many seeds reached it is reported beside.
Confidence intervals are percentile bootstrap intervals, resampling the seeds of A and of B
independently (seeded, 10,000 resamples by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Effect:
    estimate: float
    low: float
    high: float

    @property
    def detectable(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


def bootstrap(a: np.ndarray, b: np.ndarray, statistic, n_boot: int = 10_000, level: float = 0.95,
              seed: int = 0) -> Effect:
    """statistic(a, b) with a percentile bootstrap CI over independent resamples of a and b."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"bootstrap needs >= 2 seeds per group; got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), (n_boot, len(a)))
    ib = rng.integers(0, len(b), (n_boot, len(b)))
    draws = statistic(a[ia], b[ib])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Effect(float(statistic(a[None], b[None])[0]), float(low), float(high))


def accuracy_difference(reference: np.ndarray, other: np.ndarray, **kw) -> Effect:
    """Mean accuracy of `other` minus `reference`, in percentage points."""
    return bootstrap(reference, other, lambda a, b: 100 * (b.mean(1) - a.mean(1)), **kw)


def speedup(reference_cost: np.ndarray, other_cost: np.ndarray, **kw) -> Effect:
    """1 - mean(other) / mean(reference): the fraction of the cost saved (negative = slower)."""
    return bootstrap(reference_cost, other_cost, lambda a, b: 1 - b.mean(1) / a.mean(1), **kw)


def accuracy_verdict(effect: Effect) -> str:
    if not effect.detectable:
        return f"no detectable difference in accuracy ({effect.estimate:+.2f} points [{effect.low:+.2f}, {effect.high:+.2f}])"
    word = "more" if effect.estimate > 0 else "less"
    return f"{abs(effect.estimate):.2f} points {word} accurate [{effect.low:+.2f}, {effect.high:+.2f}]"


def speed_verdict(effect: Effect, target: float, unit: str, reached: int, seeds: int) -> str:
    """e.g. 'reaches 97.5% 23% sooner in compute [12%, 31%]'. A seed that missed the target is
    counted at its full budget, which understates its true cost: so "sooner" is claimed only when
    every seed reached the target ("slower" stays valid: the truth is slower still)."""
    tail = "" if reached == seeds else f" ({reached}/{seeds} seeds reached it)"
    interval = f"[{100 * effect.low:+.0f}%, {100 * effect.high:+.0f}%]"
    if reached == 0:
        return f"never reached {target:.1%} (0/{seeds} seeds)"
    if effect.detectable and effect.estimate > 0 and reached < seeds:
        return f"inconclusive: only {reached}/{seeds} seeds reached {target:.1%}"
    if not effect.detectable:
        return f"no detectable difference in {unit} to {target:.1%} {interval}{tail}"
    if effect.estimate > 0:
        return f"reaches {target:.1%} {100 * effect.estimate:.0f}% sooner in {unit} {interval}{tail}"
    return f"slower: reaches {target:.1%} with {100 * -effect.estimate:.0f}% more {unit} {interval}{tail}"
