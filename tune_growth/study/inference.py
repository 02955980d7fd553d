"""Decisions a reviewer accepts from paired per-seed differences: multiplicity corrections, an
equivalence test and the minimum detectable effect. numpy and scipy.stats; no Ray.

**Families.** The study declares its primary comparisons before it looks (each hypothesis against
its matched control and against the tuned baseline, per budget, final accuracy); they are decided
with Holm's step-down correction, which holds the family-wise error rate at alpha for any
dependence between the tests. Every other comparison is exploratory and carries a
Benjamini–Hochberg q value (scipy.stats.false_discovery_control), which holds the false discovery
rate under independence or positive dependence.

**Equivalence.** Two one-sided t tests (TOST, Schuirmann 1987) at a stated margin: the mean
difference is above -margin and below +margin, each at alpha; the TOST p value is the larger of
the two, and p < alpha is the same as the 1 - 2 alpha t interval lying inside (-margin, +margin).

**A decision**, per comparison, with alpha already corrected where a family is: "equivalent within
±margin" when the (corrected) TOST p is at most alpha; otherwise "better" or "worse" when the
(corrected) two-sided p is; otherwise "inconclusive (±X)", X the half-width of the comparison's
95% interval. Equivalence is tried first: a difference the data pin inside the margin is one the
study calls negligible even when it is also detectably non-zero.

**Minimum detectable effect**: the smallest true mean difference a two-sided paired t test at
alpha detects with the given power, from the standard deviation of the differences and the seed
count (exact, with the noncentral t distribution).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import optimize
from scipy import stats as st

ALPHA = 0.05
POWER = 0.8
MARGIN = 0.5  # the equivalence margin, in accuracy points: two images of mnist5k's 400-image validation split


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p values (Holm 1979), in the input's order: a test is rejected at
    family-wise level alpha exactly when its adjusted p is <= alpha."""
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or ((p < 0) | (p > 1)).any() or np.isnan(p).any():
        raise ValueError(f"p values must be a 1-d array in [0, 1]; got {p!r}")
    m, order = len(p), np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])  # the k-th smallest times m - k + 1, monotone
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def bh_qvalues(pvalues) -> np.ndarray:
    """Benjamini–Hochberg q values (adjusted p values), in the input's order."""
    p = np.asarray(pvalues, dtype=float)
    return st.false_discovery_control(p, method="bh") if len(p) else p


def difference_p(differences) -> float:
    """Two-sided p value of the paired t test that the mean difference is 0."""
    d = np.asarray(differences, dtype=float)
    if len(d) < 2:
        raise ValueError(f"a t test needs >= 2 differences; got {len(d)}")
    if np.ptp(d) == 0:  # identical differences: certain, in the direction of their sign
        return 1.0 if d[0] == 0 else 0.0
    return float(st.ttest_1samp(d, 0.0).pvalue)


def tost_from(estimate: float, se: float | None, df: float, margin: float = MARGIN) -> float:
    """The TOST p value that the mean difference lies within ±margin, from its estimate, standard
    error and degrees of freedom: the larger one-sided p (se 0: certain, inside or not; no se: 1)."""
    if se is None or np.isnan(se):  # no interval (an unresolved crossing): nothing can be claimed
        return 1.0
    if not se > 0:
        return 0.0 if abs(estimate) < margin else 1.0
    lower = st.t.sf((estimate + margin) / se, df)  # H0: difference <= -margin
    upper = st.t.cdf((estimate - margin) / se, df)  # H0: difference >= +margin
    return float(max(lower, upper))


def tost_p(differences, margin: float = MARGIN) -> float:
    """The TOST p value that the mean of paired `differences` lies within (-margin, +margin)."""
    d = np.asarray(differences, dtype=float)
    if margin <= 0:
        raise ValueError(f"margin {margin!r} is invalid; expected > 0 (points)")
    if len(d) < 2:
        raise ValueError(f"a t test needs >= 2 differences; got {len(d)}")
    return tost_from(float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), len(d) - 1, margin)


def half_width(differences, level: float = 0.95) -> float:
    """Half the width of the t interval for the mean difference at `level`."""
    d = np.asarray(differences, dtype=float)
    n = len(d)
    return float(st.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / np.sqrt(n))


def minimum_detectable_effect(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The true mean difference (in sd's units) that a two-sided paired t test at `alpha` on `n`
    differences of standard deviation `sd` detects with probability `power`."""
    if n < 2 or sd < 0 or not alpha < power < 1:
        raise ValueError(f"a minimum detectable effect needs n >= 2, sd >= 0 and alpha < power < 1; got n={n}, "
                         f"sd={sd}, alpha={alpha}, power={power}")
    if sd == 0:
        return 0.0
    df, crit = n - 1, st.t.ppf(1 - alpha / 2, n - 1)

    def shortfall(delta: float) -> float:  # power at standardized effect delta, minus the power asked for
        nc = delta * np.sqrt(n)
        # the wrong-sign tail is < 1e-12 wherever scipy's nct.cdf returns NaN for it (large df and nc)
        wrong_sign = np.nan_to_num(st.nct.cdf(-crit, df, nc), nan=0.0)
        return st.nct.sf(crit, df, nc) + wrong_sign - power

    high = 1.0
    while shortfall(high) < 0:
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-10) * sd)


class Decision(Enum):
    """What a comparison says; the value is the effects table's `decision`."""

    BETTER = "better"
    WORSE = "worse"
    EQUIVALENT = "equivalent"  # within ±margin
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Decided:
    """A comparison's decision, from its (corrected) p values; `margin` and `half_width` (95%, in
    the differences' units) for the sentence."""

    decision: Decision
    p_difference: float
    p_equivalence: float
    margin: float
    half_width: float

    def text(self) -> str:
        """'better', 'worse', 'equivalent within ±0.5' or 'inconclusive (±1.3)'."""
        if self.decision is Decision.EQUIVALENT:
            return f"equivalent within ±{self.margin:g}"
        if self.decision is Decision.INCONCLUSIVE:
            return f"inconclusive (±{self.half_width:.2f})"
        return self.decision.value


def decide(estimate: float, p_difference: float, p_equivalence: float, margin: float, width: float,
           alpha: float = ALPHA) -> Decided:
    """The decision from p values already corrected for their family (see the module docstring)."""
    if p_equivalence <= alpha:
        decision = Decision.EQUIVALENT
    elif p_difference <= alpha:
        decision = Decision.BETTER if estimate > 0 else Decision.WORSE
    else:
        decision = Decision.INCONCLUSIVE
    return Decided(decision, p_difference, p_equivalence, margin, width)


def decide_family(differences: list, margin: float = MARGIN, alpha: float = ALPHA,
                  correction: str = "holm") -> list[Decided]:
    """Decisions for a family of comparisons, each a paired array of differences: their
    difference p values and their TOST p values each corrected over the family (`holm`, or `bh`
    for an exploratory family, or `none`)."""
    adjust = {"holm": holm, "bh": bh_qvalues, "none": lambda p: np.asarray(p, dtype=float)}
    if correction not in adjust:
        raise ValueError(f"correction {correction!r} is invalid; expected one of {sorted(adjust)}")
    if not differences:
        return []
    p_diff = adjust[correction]([difference_p(d) for d in differences])
    p_equiv = adjust[correction]([tost_p(d, margin) for d in differences])
    return [decide(float(np.mean(d)), float(pd_), float(pe), margin, half_width(d), alpha)
            for d, pd_, pe in zip(differences, p_diff, p_equiv)]
