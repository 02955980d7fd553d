"""The study's statistics on synthetic inputs whose answers are known."""

import warnings

import numpy as np
import pytest

from tune_growth.study.stats import (
    Effect,
    accuracy_difference,
    crossing,
    seed_warning,
    speedup,
    t_interval,
    welch_interval,
)
from tune_growth.study.verdicts import Direction, accuracy_verdict, render, speed_verdict

RNG = np.random.default_rng(0)


def test_a_clear_accuracy_effect_is_detected_with_the_right_size():
    base = 0.95 + 0.002 * RNG.standard_normal(8)
    better = base + 0.01 + 0.0002 * RNG.standard_normal(8)  # one point better, sharing each seed's noise
    effect = accuracy_difference(base, better)
    assert effect.estimate == pytest.approx(1.0, abs=0.05) and effect.detectable and effect.low > 0.5
    assert "points more accurate" in render(accuracy_verdict(effect))


def test_no_effect_is_reported_as_no_detectable_difference():
    a, b = 0.95 + 0.003 * RNG.standard_normal(6), 0.95 + 0.003 * RNG.standard_normal(6)
    effect = accuracy_difference(a, b)
    assert effect.low < 0 < effect.high and not effect.detectable
    assert render(accuracy_verdict(effect)).startswith("no detectable difference")


def test_t_interval_matches_the_textbook_numbers():
    # mean 2, sd 1, n 4: half-width t(0.975, 3) * 1 / 2 = 3.182446 / 2
    mean, low, high = t_interval(np.array([1.0, 2, 2, 3]))
    sd = np.std([1.0, 2, 2, 3], ddof=1)
    assert mean == 2 and high - mean == pytest.approx(3.182446 * sd / 2, rel=1e-5) and low == pytest.approx(4 - high)
    diff, lo, hi = welch_interval(np.array([1.0, 2, 3]), np.array([2.0, 3, 4]))
    assert diff == 1 and lo < 1 < hi and hi - diff == pytest.approx(2.776445 * np.sqrt(2 / 3), rel=1e-4)


def test_paired_analysis_sees_through_the_seed_noise_welch_does_not():
    seed_effect = 0.02 * RNG.standard_normal(5)  # seeds move both schedules by +-2 points together
    a = 0.9 + seed_effect
    b = a + 0.005 + 0.0005 * RNG.standard_normal(5)
    assert accuracy_difference(a, b).detectable  # half a point, found from the per-seed differences
    assert not accuracy_difference(a, b, paired=False).detectable  # lost in the seed-to-seed spread


def _coverage(n, make, truth, estimator, reps=3000):
    rng, hits = np.random.default_rng(n), 0
    for _ in range(reps):
        a, b = make(rng, n)
        e = estimator(a, b)
        hits += e.low <= truth <= e.high
    return hits / reps


@pytest.mark.parametrize("n", [3, 5])
def test_paired_accuracy_interval_covers_95_percent_at_3_and_5_seeds(n):
    def make(rng, n):  # a shared seed effect much larger than the paired noise; truth +1 point
        shared = rng.normal(0, 0.01, n)
        return 0.95 + shared + rng.normal(0, 0.002, n), 0.96 + shared + rng.normal(0, 0.002, n)
    assert 0.93 <= _coverage(n, make, 1.0, accuracy_difference) <= 0.97


def test_the_old_percentile_bootstrap_would_not_cover_at_3_seeds():
    # why the method changed: a percentile bootstrap over 3 seeds per group (independent groups,
    # truth +1 point) covers far less than 95%; Welch's t on the same data does not
    def make(rng, n):
        return rng.normal(0.95, 0.005, n), rng.normal(0.96, 0.005, n)

    def percentile_bootstrap(a, b, rng=np.random.default_rng(0)):
        ia, ib = rng.integers(0, len(a), (2000, len(a))), rng.integers(0, len(b), (2000, len(b)))
        d = 100 * (b[ib].mean(1) - a[ia].mean(1))
        return Effect(0.0, *np.percentile(d, [2.5, 97.5]))
    assert _coverage(3, make, 1.0, percentile_bootstrap, reps=600) < 0.90
    assert _coverage(3, make, 1.0, lambda a, b: accuracy_difference(a, b, paired=False), reps=600) > 0.92


@pytest.mark.parametrize("n", [3, 5])
def test_speedup_interval_covers_95_percent_at_3_and_5_seeds(n):
    # log-normal costs sharing a seed factor; B costs 0.8x A per seed: 20% saved
    def make(rng, n):
        shared = rng.normal(0, 0.3, n)
        return np.exp(5 + shared + rng.normal(0, 0.05, n)), np.exp(5 + np.log(0.8) + shared + rng.normal(0, 0.05, n))
    assert 0.93 <= _coverage(n, make, 0.2, speedup) <= 0.97


def test_a_clear_speedup_and_a_slowdown():
    base = 100 + RNG.standard_normal(5)
    fast = speedup(base, 0.75 * base)  # 25% less compute to the target, every seed
    assert fast.estimate == pytest.approx(0.25) and fast.low == pytest.approx(0.25) and fast.detectable
    assert render(speed_verdict(fast, 0.975, "compute", 5, 5)).startswith("reaches 97.5% 25% sooner in compute [")
    slow = speedup(base, 1.5 * base * (1 + 0.01 * RNG.standard_normal(5)))
    slower = speed_verdict(slow, 0.97, "compute", 5, 5)
    assert slow.high < 0 and render(slower).startswith("slower: reaches 97.0% with 5")
    assert speed_verdict(fast, 0.975, "compute", 5, 5).direction is Direction.HELPS
    assert slower.direction is Direction.HURTS


def test_a_crossing_is_interpolated_between_evaluations():
    cost, acc = np.array([10.0, 20, 30, 40]), np.array([0.5, 0.7, 0.9, 0.95])
    assert crossing(cost, acc, 0.8) == (25.0, 20.0, 30.0, True)  # half way from 0.7 to 0.9
    assert crossing(cost, acc, 0.9) == (30.0, 20.0, 30.0, True)
    assert crossing(cost, acc, 0.4) == (10.0, 0.0, 10.0, True)  # before the first evaluation: bracket from 0
    assert crossing(cost, acc, 0.99) == (40.0, 40.0, 40.0, False)  # censored at the full budget
    assert crossing(cost, np.array([0.5, 0.9, 0.8, 0.95]), 0.85)[0] == pytest.approx(18.75)  # the first crossing


def test_no_interval_is_narrower_than_the_evaluations_are_apart():
    # the case: every seed of both schedules crosses at the same one of 20 evaluations
    # (A at 0.70 of its budget, B at 0.60): the point estimate is 14% saved, and the interval must
    # span what the evaluations 5% apart allow, not collapse to [14%, 14%]
    a = np.full(5, 0.70)
    b = np.full(5, 0.60)
    plain = speedup(a, b)
    assert plain.low == pytest.approx(plain.high)  # what the old study printed: a zero-width interval
    e = speedup(a, b, reference_bracket=(a - 0.05, a), other_bracket=(b - 0.05, b))
    assert e.estimate == pytest.approx(1 - 0.6 / 0.7)
    assert e.low == pytest.approx(1 - 0.60 / 0.65) and e.high == pytest.approx(1 - 0.55 / 0.70)
    assert e.resolution == pytest.approx(0.05 / 0.70)
    assert "(evaluations 7% apart)" in render(speed_verdict(e, 0.75, "compute", 5, 5))
    same = speedup(a, a, reference_bracket=(a - 0.05, a), other_bracket=(a - 0.05, a))
    assert not same.detectable and same.low < 0 < same.high  # equal crossings: no difference claimed


def test_a_target_missed_by_some_or_all_seeds_never_counts_as_sooner():
    cheap = speedup(np.full(5, 100.0) + RNG.standard_normal(5), np.full(5, 80.0) + RNG.standard_normal(5))
    assert cheap.detectable and cheap.estimate > 0  # censored costs alone would say "sooner"
    assert render(speed_verdict(cheap, 0.97, "compute", 0, 5)) == "never reached 97.0% (0/5 seeds)"
    assert render(speed_verdict(cheap, 0.97, "compute", 3, 5)) == "inconclusive: only 3/5 seeds reached 97.0%"
    assert speed_verdict(cheap, 0.97, "compute", 0, 5).direction is Direction.NOT_REACHED
    assert speed_verdict(cheap, 0.97, "compute", 3, 5).direction is Direction.INCONCLUSIVE
    slow = speedup(np.full(5, 100.0) + RNG.standard_normal(5), np.full(5, 150.0) + RNG.standard_normal(5))
    assert render(speed_verdict(slow, 0.97, "compute", 3, 5)).startswith("slower")  # censoring only hides more slowness


def test_a_reference_that_missed_the_target_never_makes_a_schedule_slower():
    # the reference's censored seeds count at its full budget, below their true cost
    slow = speedup(np.full(5, 100.0) + RNG.standard_normal(5), np.full(5, 150.0) + RNG.standard_normal(5))
    assert slow.detectable and slow.estimate < 0
    assert render(speed_verdict(slow, 0.97, "compute", 5, 5, reference_reached=3)) == \
        "inconclusive: the reference reached 97.0% in only 3/5 seeds"
    assert render(speed_verdict(slow, 0.97, "compute", 5, 5, reference_reached=5)).startswith("slower")


def test_a_crossing_before_the_first_evaluation_claims_nothing():
    a, b = np.full(4, 10.0), np.full(4, 20.0)
    e = speedup(a, b, reference_bracket=(np.zeros(4), a), other_bracket=(b - 10, b))  # A crossed by its first
    assert e.unresolved == 4 and not e.detectable and np.isfinite(e.estimate)
    assert render(speed_verdict(e, 0.9, "compute", 4, 4)).startswith("unresolved: 4 runs reached 90.0% by their first")


def test_censored_seeds_are_reported():
    effect = speedup(np.array([10.0, 11, 9, 10]), np.array([10.0, 10, 11, 9.5]))
    text = render(speed_verdict(effect, 0.98, "seconds", 3, 4))
    assert text.startswith("no detectable difference in seconds to 98.0%") and "(3/4 seeds reached it)" in text


def test_seed_counts_below_3_are_refused_and_below_5_warned():
    with pytest.raises(ValueError, match="--seeds 2 is invalid; expected >= 3"):
        seed_warning(2)
    assert "4 seeds" in seed_warning(4) and seed_warning(3).startswith("warning")
    assert seed_warning(5) is None
    assert "do not hold their 95%" in seed_warning(2, refuse=False)  # reanalysing an older 2-seed study
    with pytest.raises(ValueError, match="one value per seed"):
        accuracy_difference(np.ones(3), np.ones(4))
    assert Effect(0.1, 0.05, 0.2).detectable and not Effect(0.1, -0.05, 0.2).detectable
    with pytest.raises(ValueError, match="unit 'accuracy' is invalid; expected one of"):
        speed_verdict(Effect(0.1, 0.05, 0.2), 0.9, "accuracy", 3, 3)


def test_t_intervals_are_scipys():
    from scipy import stats as st

    values = np.array([0.3, -0.1, 0.4, 0.2])
    assert t_interval(values)[1:] == pytest.approx(tuple(st.ttest_1samp(values, 0).confidence_interval()), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # identical values: a zero-width interval, and no warning about them
        assert t_interval(np.full(4, 0.7)) == (0.7, 0.7, 0.7)
    diff, low, high = welch_interval(values, values + 1)
    assert (low, high) == pytest.approx(tuple(st.ttest_ind(values + 1, values, equal_var=False).confidence_interval()))
