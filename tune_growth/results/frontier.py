"""The accuracy-cost frontier of a search's trials: which trials are Pareto-optimal (no other is
at least as accurate on validation and at most as costly, one of the two strictly), and the
hypervolume the front dominates.

Costs (COSTS): compute, examples x pixels summed over the run (the same on every machine), or
seconds, the run's training time on its device (evaluation excluded: `wall_seconds`).

Hypervolume is measured in the plane of (log10 cost, validation accuracy), because budgets are
searched log-uniformly and a schedule that halves the cost moves the same distance at every
scale: the area of the points dominated by the front and dominating the reference point (a cost,
an accuracy). Its unit is accuracy x decades of cost: a front with one trial at accuracy a and
cost c has hypervolume (a - ref_accuracy) x log10(ref_cost / c). Compare hypervolumes only
against the same reference point: `reference_point` gives one for a set of searches.

Which trials form a front: those that ran to their end (completed) or diverged (a diverged run is
a real outcome of spending a trial, at its sentinel accuracy), not the baseline control (trial 0
is not drawn from the space) and not runs cut short. Pure numpy and pandas: nothing here trains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# cost name -> the trials.parquet column (and the trial's record field) that holds it
COSTS = {"compute": "compute", "seconds": "wall_seconds"}
COST_WORDS = {"compute": "compute (examples × pixels)", "seconds": "training seconds"}
# The reference cost is this many times the most expensive baseline control's: the control runs
# at the top of the budget range, so every trial in range adds area (one at the top adds
# log10(2) = 0.30 decades' worth).
REFERENCE_COST_FACTOR = 2.0


def front_trials(trials: pd.DataFrame) -> pd.Series:
    """Which rows of a search's trials form its front (see the module's doc)."""
    return trials["status"].isin(["completed", "diverged"]) & ~trials["is_control"].astype(bool)


def pareto_mask(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """True where no other point is at least as accurate and at most as costly, one strictly.
    Points with a missing value are never optimal."""
    acc, cst = np.asarray(accuracy, dtype=float), np.asarray(cost, dtype=float)
    ok = np.isfinite(acc) & np.isfinite(cst)
    a, c = acc[:, None], cst[:, None]  # row i against column j: does j dominate i?
    dominated = ((acc[None, :] >= a) & (cst[None, :] <= c) & ((acc[None, :] > a) | (cst[None, :] < c))
                 & ok[None, :]).any(axis=1)
    return ok & ~dominated


def hypervolumes(accuracy: np.ndarray, cost: np.ndarray, ref_accuracy: float, ref_cost: float) -> np.ndarray:
    """The hypervolume of each row's points (arrays of shape (rows, points); NaN marks no point),
    in accuracy x decades of cost. Points costlier than the reference or below its accuracy add
    nothing. Sorted by cost, each point adds the accuracy it gains over every cheaper point,
    times the decades from its cost to the reference cost."""
    acc = np.atleast_2d(np.asarray(accuracy, dtype=float))
    width = np.log10(ref_cost) - np.log10(np.atleast_2d(np.asarray(cost, dtype=float)))
    valid = np.isfinite(acc) & np.isfinite(width) & (width > 0)
    acc = np.where(valid, acc, ref_accuracy)
    width = np.where(valid, width, 0.0)
    order = np.argsort(-width, axis=1, kind="stable")  # cheapest first
    acc, width = np.take_along_axis(acc, order, 1), np.take_along_axis(width, order, 1)
    best = np.maximum.accumulate(np.maximum(acc, ref_accuracy), axis=1)
    gain = np.diff(best, axis=1, prepend=ref_accuracy)
    return (gain * width).sum(axis=1)


def hypervolume(accuracy, cost, ref_accuracy: float, ref_cost: float) -> float:
    """The hypervolume of one set of points (see hypervolumes)."""
    return float(hypervolumes(np.asarray(accuracy, dtype=float)[None, :], np.asarray(cost, dtype=float)[None, :],
                              ref_accuracy, ref_cost)[0])


def reference_point(trials: pd.DataFrame, cost: str, chance: float = 0.0) -> tuple[float, float]:
    """(accuracy, cost) of the reference point for comparing these trials' searches: chance
    accuracy (1 / classes), and REFERENCE_COST_FACTOR x the costliest baseline control's cost
    (else the costliest trial's, for searches without one)."""
    column = COSTS[cost]
    controls = trials.loc[trials["is_control"].astype(bool), column].dropna()
    top = controls.max() if len(controls) else trials[column].dropna().max()
    return chance, REFERENCE_COST_FACTOR * float(top)


def expected_hypervolume(accuracy: np.ndarray, cost: np.ndarray, ref: tuple[float, float], draws: int = 400,
                         seed: int = 0) -> np.ndarray:
    """E[hypervolume of n trials drawn with replacement from these], for n = 1 .. N, by `draws`
    seeded Monte-Carlo draws per n (the frontier analogue of the expected best of n trials)."""
    acc, cst = np.asarray(accuracy, dtype=float), np.asarray(cost, dtype=float)
    rng = np.random.default_rng(seed)
    out = np.empty(len(acc))
    for n in range(1, len(acc) + 1):
        pick = rng.integers(0, len(acc), (draws, n))
        out[n - 1] = hypervolumes(acc[pick], cst[pick], *ref).mean()
    return out


def expected_hypervolume_band(accuracy: np.ndarray, cost: np.ndarray, ref: tuple[float, float], n_boot: int = 200,
                              level: float = 0.95, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(curve, low, high) for n = 1 .. N: the curve from the trials, and a percentile band from
    resampling the trials (seeded), as expected_best's band is."""
    acc, cst = np.asarray(accuracy, dtype=float), np.asarray(cost, dtype=float)
    rng = np.random.default_rng(seed)
    boots = []
    for b in range(n_boot):
        pick = rng.integers(0, len(acc), len(acc))
        boots.append(expected_hypervolume(acc[pick], cst[pick], ref, draws=100, seed=seed + 1 + b))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.stack(boots), [tail, 100 - tail], axis=0)
    return expected_hypervolume(acc, cst, ref, seed=seed), low, high
