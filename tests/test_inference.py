"""The study's decisions (study/inference.py) on synthetic data with known answers: Holm against
closed testing, Benjamini–Hochberg against its formula, error rates and power by simulation."""

from itertools import combinations

import numpy as np
import pytest
from scipy import stats as st

from tune_growth.study.inference import (
    Decision,
    bh_qvalues,
    decide_family,
    difference_p,
    half_width,
    holm,
    minimum_detectable_effect,
    tost_p,
)


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; made monotone: 0.06 last
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


@pytest.mark.parametrize("seed", range(20))
def test_holm_rejects_what_closed_bonferroni_testing_rejects(seed):
    # Holm is the closed testing procedure of Bonferroni's local tests: H_i is rejected when every
    # intersection of hypotheses holding i is, by min p <= alpha / |subset|
    rng, alpha = np.random.default_rng(seed), 0.05
    p = rng.uniform(0, 0.08, size=rng.integers(2, 6))
    m = len(p)
    closed = [all(min(p[list(s)]) <= alpha / len(s) for k in range(1, m + 1)
                  for s in combinations(range(m), k) if i in s) for i in range(m)]
    assert list(holm(p) <= alpha) == closed


def test_bh_q_values_by_their_formula():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, size=12)
    m, order = len(p), np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]  # q_(i) = min over j >= i of m p_(j) / j
    expected = np.empty(m)
    expected[order] = np.minimum(q_sorted, 1)
    assert bh_qvalues(p) == pytest.approx(expected)
    assert bh_qvalues([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05] * 5)


def test_holm_holds_the_family_wise_error_rate_under_the_null():
    rng = np.random.default_rng(1)
    families, m, n = 2000, 10, 5  # 10 null comparisons of 5 seeds each
    p = st.ttest_1samp(rng.normal(size=(families, m, n)), 0.0, axis=2).pvalue
    any_holm = np.mean([(holm(row) <= 0.05).any() for row in p])
    any_raw = np.mean((p <= 0.05).any(axis=1))
    assert any_holm <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / families)  # at most alpha, up to 3 standard errors
    assert any_raw > 0.3  # uncorrected, 1 - 0.95^10 = 40% of families have a false "detectable" effect


def test_tost_rejects_at_most_alpha_at_the_margin_and_finds_a_true_equivalence():
    rng = np.random.default_rng(2)
    at_margin = np.mean([tost_p(rng.normal(0.5, 1.0, size=8), 0.5) < 0.05 for _ in range(2000)])
    assert at_margin <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)
    assert np.mean([tost_p(rng.normal(0.0, 0.2, size=10), 0.5) < 0.05 for _ in range(200)]) > 0.99


@pytest.mark.parametrize("seed", range(10))
def test_tost_is_the_90_percent_interval_inside_the_margin(seed):
    d = np.random.default_rng(seed).normal(0.1 * seed - 0.3, 0.4, size=6)
    mean, hw = d.mean(), half_width(d, level=0.90)
    assert (tost_p(d, 0.5) < 0.05) == (-0.5 < mean - hw and mean + hw < 0.5)


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_minimum_detectable_effect_is_detected_with_the_power_asked(n):
    rng, sims = np.random.default_rng(n), 4000
    mde = minimum_detectable_effect(sd=2.0, n=n)
    p = st.ttest_1samp(rng.normal(mde, 2.0, size=(sims, n)), 0.0, axis=1).pvalue
    assert np.mean(p < 0.05) == pytest.approx(0.8, abs=3 * np.sqrt(0.8 * 0.2 / sims))


def test_the_minimum_detectable_effect_tends_to_the_normal_formula():
    z = st.norm.ppf(0.975) + st.norm.ppf(0.8)  # 2.80 standard errors for a large n
    assert minimum_detectable_effect(1.0, 400) == pytest.approx(z / 20, rel=0.01)
    assert minimum_detectable_effect(1.0, 5) > minimum_detectable_effect(1.0, 10) > minimum_detectable_effect(1.0, 20)
    assert minimum_detectable_effect(0.0, 5) == 0.0


def test_a_family_is_decided_as_its_effects_are():
    rng = np.random.default_rng(3)
    better, worse = rng.normal(3.0, 0.3, size=10), rng.normal(-3.0, 0.3, size=10)
    same, unsure = rng.normal(0.0, 0.05, size=10), rng.normal(0.5, 3.0, size=3)
    decided = decide_family([better, worse, same, unsure], margin=0.5)
    assert [d.decision for d in decided] == [Decision.BETTER, Decision.WORSE, Decision.EQUIVALENT,
                                             Decision.INCONCLUSIVE]
    assert decided[2].text() == "equivalent within ±0.5"
    assert decided[3].text() == f"inconclusive (±{half_width(unsure):.2f})"
    assert decided[0].text() == "better" and decided[1].text() == "worse"


def test_the_correction_can_turn_a_detection_inconclusive():
    # one p value near 0.02 among nine nulls: detectable alone, not after Holm over ten comparisons
    rng = np.random.default_rng(4)
    d = rng.normal(0, 1, size=5)
    d = d - d.mean() + 2.9 * d.std(ddof=1) / np.sqrt(5)  # t = 2.9 on 4 degrees of freedom: p ~ 0.044
    nulls = [np.array([-1.0, 0.0, 1.0, 0.5, -0.5]) for _ in range(9)]  # mean 0: p = 1
    alone, = decide_family([d], margin=0.01, correction="none")
    together = decide_family([d, *nulls], margin=0.01, correction="holm")[0]
    assert difference_p(d) < 0.05 and alone.decision is Decision.BETTER
    assert together.decision is Decision.INCONCLUSIVE


@pytest.mark.parametrize("call, message", [
    (lambda: holm([0.5, 1.5]), "in [0, 1]"),
    (lambda: tost_p([0.1, 0.2], margin=0), "margin 0 is invalid"),
    (lambda: difference_p([0.1]), ">= 2 differences"),
    (lambda: minimum_detectable_effect(1.0, 1), "n >= 2"),
    (lambda: decide_family([np.ones(3)], correction="bonferroni"), "'bonferroni' is invalid"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        call()
