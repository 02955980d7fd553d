"""Expected best accuracy against search effort, on values whose answers are known."""

import numpy as np
import pandas as pd
import pytest

from tune_growth.analysis.expected_best import (
    at_effort,
    expected_best_figure,
    expected_best_table,
    expected_max,
    expected_max_band,
    search_values,
)


def test_two_values_give_the_closed_form():
    # max of n draws from {0, 1} is 0 only when every draw is 0: E = 1 - 0.5^n
    n = np.arange(1, 11)
    assert expected_max(np.array([1.0, 0.0]), 10) == pytest.approx(1 - 0.5 ** n)


def test_the_curve_starts_at_the_mean_rises_and_matches_simulation():
    rng = np.random.default_rng(0)
    v = rng.normal(0.95, 0.01, 20)
    curve = expected_max(v)
    assert curve[0] == pytest.approx(v.mean()) and (np.diff(curve) >= -1e-12).all() and curve[-1] < v.max()
    draws = v[rng.integers(0, 20, (100_000, 8))].max(1).mean()  # Monte Carlo of n = 8
    assert curve[7] == pytest.approx(draws, abs=2e-4)
    assert expected_max(v, 200)[-1] == pytest.approx(v.max(), abs=1e-6)  # many draws find the best


def test_the_band_holds_the_curve_and_narrows_to_nothing_for_identical_trials():
    v = np.random.default_rng(1).normal(0.9, 0.02, 16)
    curve, low, high = expected_max_band(v, n_boot=500)
    assert ((low <= curve + 1e-12) & (curve <= high + 1e-12)).all() and (high - low)[0] > 0
    same, lo, hi = expected_max_band(np.full(5, 0.8), n_boot=50)
    assert np.allclose(same, 0.8) and np.allclose(lo, hi)


def test_the_table_counts_only_full_runs_of_the_space():
    trials = pd.DataFrame({
        "experiment": ["h1"] * 5 + ["h2"] * 3,
        "hypothesis": ["baseline", "h1", "h1", "h1", "h1", "baseline", "h2", "h2"],
        "is_control": [True, False, False, False, False, True, False, False],
        "status": ["completed", "completed", "stopped", "diverged", "completed", "completed", "completed", "screened"],
        "final_val_acc": [0.99, 0.90, 0.95, 0.10, 0.92, 0.99, 0.80, 0.99],
    })
    assert sorted(search_values(trials[trials["experiment"] == "h1"])) == [0.10, 0.90, 0.92]
    table = expected_best_table(trials)
    assert list(table.groupby("experiment")["n"].max()) == [3, 1] and set(table["space"]) == {"h1", "h2"}
    assert table.loc[table["experiment"] == "h2", "expected_best"].iloc[0] == pytest.approx(0.80)
    wide = at_effort(table, efforts=(1, 2))
    assert wide.loc["h2", "n=2"] == "—" and wide.loc["h2", "n=all"].startswith("80.00")  # its one trial
    assert wide.loc["h1", "n=1"].startswith(f"{100 * np.mean([0.1, 0.9, 0.92]):.2f}")
    h1 = table[table["experiment"] == "h1"]
    assert wide.loc["h1", "n=all"].startswith(f"{100 * h1['expected_best'].iloc[-1]:.2f}")  # n = its 3 trials
    assert len(expected_best_figure(table).axes[0].lines) == 2
