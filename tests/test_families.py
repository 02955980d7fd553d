"""The study's declared families (study/families.py) on synthetic runs with known answers: which
comparisons are primary, Holm over them, BH over the rest, and the decisions they give."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from tune_growth.schedule.core import Schedule, Stage
from tune_growth.study.controls import random_classes
from tune_growth.study.effects import effects_table
from tune_growth.study.families import detectable_effects, is_primary, matched, primary_markdown
from tune_growth.study.inference import holm, minimum_detectable_effect, tost_from, tost_p

ALL = tuple(range(10))
H1 = Schedule((Stage(ALL, 1, 28, 0.1), Stage(ALL, None, 28, 0.9)), 10, hypothesis="h1", selection="iconic")
H2 = Schedule((Stage((0, 1), None, 28, 0.2), Stage(ALL, None, 28, 0.8)), 10, hypothesis="h2")
SCHEDULES = {"baseline": Schedule((Stage(ALL, None, 28, 1.0),), 10), "h1": H1, "h2": H2,
             "random_growing": replace(H1, selection="random", hypothesis="random_growing"),
             "h1+h2": Schedule((Stage((0, 1), 5, 28, 0.2), Stage(ALL, None, 28, 0.8)), 10, hypothesis="h1+h2"),
             "h3": Schedule((Stage(ALL, None, 16, 0.5), Stage(ALL, None, 28, 0.5)), 10, hypothesis="h3")}


def test_a_control_is_matched_to_the_schedule_it_was_made_from():
    schedules = {**SCHEDULES, "random_classes": random_classes(H2), "baseline_at_h3": SCHEDULES["baseline"]}
    runs = pd.DataFrame([{"budget": 2.0, "label": label, "hypothesis": s.hypothesis, "schedule_json": s.to_json()}
                         for label, s in schedules.items()])
    pairs = matched(runs)
    assert pairs == {(2.0, "h1", "random_growing"), (2.0, "h2", "random_classes"), (2.0, "h3", "baseline_at_h3")}
    assert is_primary(2.0, "h3", "h3", "baseline_at_h3", "accuracy", pairs)
    assert is_primary(2.0, "h1+h2", "h1+h2", "baseline", "accuracy", pairs)
    assert not is_primary(2.0, "h1+h2", "h1+h2", "random_growing", "accuracy", pairs)  # made from H1's stages
    assert not is_primary(2.0, "h1", "h1", "baseline", "compute", pairs)  # times to target are exploratory
    assert not is_primary(2.0, "random_growing", "random_growing", "baseline", "accuracy", pairs)  # no hypothesis


SEEDS = 10
UNSURE = np.array([1.0, -1.0] * 5) * 0.01  # mean 0, sd 1.05 points: t = 0, and too wide for ±0.5


def _runs(means: dict[str, tuple], seed: int = 0) -> pd.DataFrame:
    """Synthetic runs at one budget: label -> (hypothesis, mean accuracy, per-seed spread about the
    baseline's seed effect, or the per-seed deviations themselves), SEEDS seeds each sharing a
    per-seed offset (as paired runs do)."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 0.02, SEEDS)  # what a seed does to every schedule alike
    rows = []
    for label, (hypothesis, mean, spread) in means.items():
        noise = spread if isinstance(spread, np.ndarray) else rng.normal(0, spread, SEEDS)
        acc = np.clip(mean + shared + noise, 0, 1)
        for s, a in enumerate(acc):
            curve = [[1e6 * k, float(k), float(a) * k / 4] for k in range(1, 5)]
            rows.append({"label": label, "hypothesis": hypothesis, "budget": 2.0, "seed": s, "final_test_acc": a,
                         "schedule": label, "schedule_json": SCHEDULES[label].to_json(), "curve_json": json.dumps(curve)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def effects():
    return effects_table(_runs({
        "baseline": ("baseline", 0.90, 0.0),
        "h1": ("h1", 0.92, 0.002),  # 2 points better than the baseline, tightly
        "random_growing": ("random_growing", 0.92, 0.002),  # ... and the same as its matched control
        "h2": ("h2", 0.90, UNSURE),  # no difference on average, but a 1-point spread: cannot tell
    }))


def test_the_declared_family_holds_the_hypotheses_against_their_references(effects):
    primary = effects[effects["family"] == "primary"]
    assert set(zip(primary["label"], primary["reference"])) == {("h1", "baseline"), ("h1", "random_growing"),
                                                                ("h2", "baseline")}
    assert (primary["measure_kind"] == "accuracy").all()
    assert (effects.loc[effects["family"] == "exploratory", "label"].isin(["random_growing", "h1", "h2"])).all()


def test_holm_and_bh_are_applied_within_each_family(effects):
    primary = effects[effects["family"] == "primary"]
    raw = []
    for r in primary.itertuples():  # the paired t test, recomputed from the runs
        runs = _runs({"baseline": ("baseline", 0.90, 0.0), "h1": ("h1", 0.92, 0.002),
                      "random_growing": ("random_growing", 0.92, 0.002), "h2": ("h2", 0.90, UNSURE)})
        a = runs[runs["label"] == r.reference].sort_values("seed")["final_test_acc"].to_numpy()
        b = runs[runs["label"] == r.label].sort_values("seed")["final_test_acc"].to_numpy()
        raw.append(st.ttest_rel(100 * b, 100 * a).pvalue)
    assert primary["p_value"].to_numpy() == pytest.approx(raw, rel=1e-9)
    assert primary["p_adjusted"].to_numpy() == pytest.approx(holm(raw))
    exploratory = effects[(effects["family"] == "exploratory") & effects["p_value"].notna()]
    assert exploratory["p_adjusted"].to_numpy() == pytest.approx(
        st.false_discovery_control(exploratory["p_value"].to_numpy()))


def test_the_decisions_are_the_known_answers(effects):
    decided = effects[effects["family"] == "primary"].set_index(["label", "reference"])["decision_text"]
    assert decided[("h1", "baseline")] == "better"
    assert decided[("h1", "random_growing")] == "equivalent within ±0.5"
    assert decided[("h2", "baseline")].startswith("inconclusive (±")
    text = primary_markdown(effects)
    assert "Holm-corrected over the family's 3 comparisons" in text and "| 2 | h1 | baseline |" in text


def test_tost_from_the_interval_is_tost_on_the_differences():
    rng = np.random.default_rng(5)
    for _ in range(10):
        d = rng.normal(rng.uniform(-1, 1), 0.5, size=6)
        test = st.ttest_1samp(d, 0)
        se = d.std(ddof=1) / np.sqrt(len(d))
        assert tost_from(d.mean(), se, test.df, 0.5) == pytest.approx(tost_p(d, 0.5), rel=1e-9)


def test_the_minimum_detectable_effect_uses_the_primary_spread(effects):
    mde = detectable_effects(effects, SEEDS)
    primary = effects[effects["family"] == "primary"]
    sd = float(np.median(primary["se"] * np.sqrt(primary["seeds"])))
    assert mde["sd"] == pytest.approx(sd) and mde["comparisons"] == 3
    assert mde["per_comparison"] == pytest.approx(minimum_detectable_effect(sd, SEEDS))
    assert mde["family_strictest"] == pytest.approx(minimum_detectable_effect(sd, SEEDS, 0.05 / 3))


def test_constant_groups_are_certain_in_welchs_test_too():
    from tune_growth.study.stats import difference_test
    t = difference_test(np.full(3, 0.9), np.full(4, 0.9), paired=False)
    assert t.se == 0.0 and t.p_value == 1.0 and tost_from(t.estimate, t.se, t.df, 0.5) == 0.0
    t = difference_test(np.full(3, 0.9), np.full(4, 0.95), paired=False)
    assert t.se == 0.0 and t.p_value == 0.0
