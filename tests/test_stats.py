"""The study's statistics on synthetic inputs whose answers are known."""

import numpy as np
import pytest

from tune_growth.study.stats import Effect, accuracy_difference, accuracy_verdict, bootstrap, speed_verdict, speedup

RNG = np.random.default_rng(0)


def test_a_clear_accuracy_effect_is_detected_with_the_right_size():
    base = 0.95 + 0.002 * RNG.standard_normal(8)
    better = base + 0.01  # exactly one point better, same noise
    effect = accuracy_difference(base, better)
    assert effect.estimate == pytest.approx(1.0) and effect.detectable and effect.low > 0.5
    assert accuracy_verdict(effect).startswith("1.00 points more accurate")


def test_no_effect_is_reported_as_no_detectable_difference():
    a, b = 0.95 + 0.003 * RNG.standard_normal(6), 0.95 + 0.003 * RNG.standard_normal(6)
    effect = accuracy_difference(a, b)
    assert effect.low < 0 < effect.high and not effect.detectable
    assert accuracy_verdict(effect).startswith("no detectable difference")


def test_a_clear_speedup_and_a_slowdown():
    base = 100 + RNG.standard_normal(5)
    fast = speedup(base, 0.75 * base)  # 25% less compute to the target
    assert fast.estimate == pytest.approx(0.25) and fast.low > 0.2 and fast.high < 0.3
    assert speed_verdict(fast, 0.975, "compute", 5, 5).startswith("reaches 97.5% 25% sooner in compute [")
    slow = speedup(base, 1.5 * base)
    assert slow.high < 0 and speed_verdict(slow, 0.97, "compute", 5, 5).startswith("slower: reaches 97.0% with 50% more")


def test_a_target_missed_by_some_or_all_seeds_never_counts_as_sooner():
    cheap = speedup(np.full(5, 100.0) + RNG.standard_normal(5), np.full(5, 80.0) + RNG.standard_normal(5))
    assert cheap.detectable and cheap.estimate > 0  # censored costs alone would say "sooner"
    assert speed_verdict(cheap, 0.97, "compute", 0, 5) == "never reached 97.0% (0/5 seeds)"
    assert speed_verdict(cheap, 0.97, "compute", 3, 5) == "inconclusive: only 3/5 seeds reached 97.0%"
    slow = speedup(np.full(5, 100.0) + RNG.standard_normal(5), np.full(5, 150.0) + RNG.standard_normal(5))
    assert speed_verdict(slow, 0.97, "compute", 3, 5).startswith("slower")  # censoring only hides more slowness


def test_censored_seeds_are_reported():
    effect = speedup(np.array([10.0, 11, 9, 10]), np.array([10.0, 10, 11, 9.5]))
    text = speed_verdict(effect, 0.98, "seconds", 3, 4)
    assert text.startswith("no detectable difference in seconds to 98.0%") and "(3/4 seeds reached it)" in text


def test_coverage_of_the_bootstrap_interval_is_near_nominal():
    # 200 experiments with a true difference of 1 point: the 95% interval should hold it ~95% of the time
    rng, hits = np.random.default_rng(1), 0
    for i in range(200):
        a, b = rng.normal(0.95, 0.005, 10), rng.normal(0.96, 0.005, 10)
        e = accuracy_difference(a, b, n_boot=2000, seed=i)
        hits += e.low <= 1.0 <= e.high
    assert 0.88 <= hits / 200 <= 0.99


def test_bootstrap_is_seeded_and_needs_two_seeds():
    a, b = RNG.normal(size=5), RNG.normal(size=5)
    assert accuracy_difference(a, b, seed=3) == accuracy_difference(a, b, seed=3)
    with pytest.raises(ValueError, match=">= 2 seeds per group"):
        bootstrap(np.array([1.0]), np.array([1.0, 2.0]), lambda x, y: x.mean(1))
    assert Effect(0.1, 0.05, 0.2).detectable and not Effect(0.1, -0.05, 0.2).detectable
