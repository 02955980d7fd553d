"""LR policies as pure functions of progress."""

import math

import pytest

from tune_growth.schedule.lr_policy import LRPolicy, sgdr_cycle_bounds


def test_onecycle_warms_up_peaks_and_anneals_with_inverse_momentum():
    p = LRPolicy("onecycle", pct_start=0.3, div_factor=25, final_div=1e4, moms=(0.95, 0.85))
    assert p(0.0) == pytest.approx((1 / 25, 0.95))
    assert p(0.3) == pytest.approx((1.0, 0.85))
    assert p(1.0) == pytest.approx((1e-4, 0.95))
    lrs = [p(t / 100)[0] for t in range(101)]
    peak = lrs.index(max(lrs))
    assert peak == 30 and all(a <= b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:]))


def test_sgdr_restarts_at_cycle_bounds_with_cycle_mult():
    p = LRPolicy("sgdr", cycles=3, cycle_mult=2.0, final_div=1e4)
    bounds = sgdr_cycle_bounds(3, 2.0)
    assert bounds == pytest.approx([0, 1 / 7, 3 / 7, 1.0])  # lengths 1 : 2 : 4
    for start in bounds[:-1]:
        assert p(start)[0] == pytest.approx(1.0)  # every cycle restarts at the max LR
    assert p(bounds[1] - 1e-9)[0] < 1e-3 and p(1.0)[0] == pytest.approx(1e-4)


def test_linear_decays_to_zero_after_warmup():
    assert LRPolicy("linear")(0.0)[0] == 1.0 and LRPolicy("linear")(1.0)[0] == 0.0
    p = LRPolicy("linear", warmup=0.1)
    assert p(0.05)[0] == pytest.approx(0.5) and p(0.1)[0] == pytest.approx(1.0) and p(0.55)[0] == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["onecycle", "sgdr", "linear"])
def test_every_policy_stays_in_range(name):
    p = LRPolicy(name)
    for i in range(201):
        lr, mom = p(i / 200)
        assert 0.0 <= lr <= 1.0 and 0.0 <= mom < 1.0 and math.isfinite(lr)


@pytest.mark.parametrize("kwargs, bad", [({"pct_start": 1.2}, "pct_start=1.2"), ({"cycles": 0}, "cycles=0"),
                                         ({"cycle_mult": 0.5}, "cycle_mult=0.5"), ({"warmup": 1.0}, "warmup=1.0")])
def test_invalid_policy_parameters(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        LRPolicy(**kwargs)
