"""The study's effects per budget on synthetic runs whose answers are known (no training, no Ray)."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from tune_growth.io import read_jsonl_by_key
from tune_growth.study.effects import budget_markdown, compact_markdown, effects_table, markdown, verdict_sentences
from tune_growth.study.figures import budget_figure

SEEDS = 5


def _runs(shift: dict) -> pd.DataFrame:
    """Runs of baseline, h2 and random_growing at budgets 2 and 10: accuracy rises linearly in
    compute over 20 evaluations to a final value; each seed moves every schedule alike (paired),
    and `shift[(label, budget)]` adds points to a schedule's curve."""
    rng, rows = np.random.default_rng(0), []
    seed_effect = rng.normal(0, 0.004, SEEDS)
    for budget in (2.0, 10.0):
        for label in ("baseline", "h2", "random_growing"):
            for seed in range(SEEDS):
                final = 0.9 + 0.005 * np.log(budget) + seed_effect[seed] + shift.get((label, budget), 0.0) \
                        + rng.normal(0, 0.0005)
                compute = np.linspace(1, 20, 20) * budget
                acc = final - 0.1 * (1 - np.linspace(1, 20, 20) / 20)
                rows.append({"label": label, "hypothesis": label, "budget": budget, "seed": seed,
                             "schedule": f"{label} schedule", "final_test_acc": final,
                             "curve_json": json.dumps([[c, c / 10, a] for c, a in zip(compute, acc)])})
    return pd.DataFrame(rows).sample(frac=1, random_state=0)  # in no particular order: pairing must sort


def test_effects_are_paired_per_budget_and_the_verdict_names_the_budgets():
    runs = _runs({("h2", 2.0): 0.01, ("random_growing", 10.0): -0.02})  # h2 +1 point at 2 epochs only
    effects = effects_table(runs)
    acc = effects[(effects["label"] == "h2") & (effects["reference"] == "baseline")
                  & effects["measure"].str.startswith("final")].set_index("budget")
    assert acc.loc[2.0, "estimate"] == pytest.approx(1.0, abs=0.1) and acc.loc[2.0, "low"] > 0
    assert acc.loc[10.0, "low"] < 0 < acc.loc[10.0, "high"]  # no difference at 10
    assert (acc["method"] == "paired t").all() and (acc["seeds"] == SEEDS).all()
    # targets per budget: the baseline's median there minus 1 and 0.5 points
    targets = effects.loc[effects["budget"] == 2.0, "target"].dropna().unique()
    median = np.median(runs.loc[(runs["label"] == "baseline") & (runs["budget"] == 2.0), "final_test_acc"])
    assert sorted(targets) == pytest.approx([round(median - 0.01, 4), round(median - 0.005, 4)])
    sentences = verdict_sentences(effects)
    h2 = next(s for s in sentences if s.startswith("h2 against the tuned baseline"))
    assert "final accuracy: helps at 2 epochs; no detectable difference at 10 epochs" in h2
    assert "compute to the higher target: sooner at 2 epochs" in h2  # 1 point higher: the target comes earlier
    assert not any(s.startswith(("baseline", "random_growing")) for s in sentences)  # controls get no verdict
    vs_random = next(s for s in sentences if s.startswith("h2 against the random-order control"))
    assert "helps at 2 and 10 epochs" in vs_random
    table = budget_markdown(effects, runs)
    assert table.splitlines()[0] == "| schedule | 2 epochs | 10 epochs |"
    assert re.search(r"\| h2 \| \+(0\.9\d|1\.0\d) pts \[", table)
    assert "(n.s.)" in table.splitlines()[2]  # h2 at 10 epochs
    assert "| 2 epochs | h2: h2 schedule | baseline |" in markdown(effects, runs)
    assert compact_markdown(effects, runs, 10.0).count("\n") == 5  # header, rule, three schedules
    assert len(budget_figure(effects, "synthetic").axes) == 4


def test_time_to_target_is_interpolated_so_a_known_speedup_comes_out():
    runs = _runs({})
    # h2's curve reaches every accuracy in 20% less compute at budget 10: compress its x-axis
    runs = runs.sort_values(["label", "budget", "seed"])  # the positional copy below goes seed by seed
    sel, base = ((runs["label"] == name) & (runs["budget"] == 10.0) for name in ("h2", "baseline"))
    runs.loc[sel, "curve_json"] = [json.dumps([[0.8 * c, s, a] for c, s, a in json.loads(j)])
                                   for j in runs.loc[base, "curve_json"]]  # the baseline's own curves, seed by seed
    runs.loc[sel, "final_test_acc"] = runs.loc[base, "final_test_acc"].to_numpy()
    effects = effects_table(runs)
    e = effects[(effects["label"] == "h2") & (effects["reference"] == "baseline") & (effects["budget"] == 10.0)
                & (effects["measure"] == "compute saved to target")]
    assert e["estimate"].to_numpy() == pytest.approx([0.2, 0.2], abs=1e-9)
    assert (e["low"] < 0.2).all() and (e["high"] > 0.2).all()  # widened to the evaluation brackets
    assert (e["resolution"] > 0).all() and e["verdict"].str.contains("evaluations").all()


def test_runs_pair_on_the_seeds_they_share_and_too_few_runs_are_skipped():
    runs = _runs({("h2", 2.0): 0.01})
    runs = runs[~((runs["label"] == "h2") & (runs["seed"] == 4))]  # h2 lost a seed
    effects = effects_table(runs)
    e = effects[(effects["label"] == "h2") & (effects["reference"] == "baseline") & (effects["budget"] == 2.0)]
    assert (e["seeds"] == 4).all() and (e["method"].str.startswith("paired")).all()
    few = runs[(runs["label"] != "h2") | (runs["seed"] == 0)]  # one h2 run: no interval, no row
    assert not ((effects_table(few)["label"] == "h2")).any()
    empty = effects_table(runs[runs["label"] == "baseline"])
    assert empty.empty and "verdict" in empty and verdict_sentences(empty) == []


def test_a_study_log_cut_short_by_a_kill_keeps_its_whole_lines(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"key": "a", "records": []}) + "\n" + '{"key": "b", "rec')
    assert list(read_jsonl_by_key(path)) == ["a"]
    assert read_jsonl_by_key(tmp_path / "none.jsonl") == {}


def test_the_budget_plot_draws_no_saving_for_a_schedule_that_never_reached_the_target():
    runs = _runs({("h2", 2.0): -0.05})  # 5 points behind at 2 epochs: below both targets in every seed
    effects = effects_table(runs)
    never = effects[(effects["label"] == "h2") & (effects["reference"] == "baseline") & (effects["budget"] == 2.0)
                    & (effects["measure"] == "compute saved to target")]
    assert (never["reached"] == 0).all() and never["verdict"].str.startswith("never reached").all()
    assert never["estimate"].notna().all()  # the censored costs give a number; the plot must not show it
    compute_ax = budget_figure(effects, "synthetic").axes[1]  # against the baseline, compute saved
    h2 = next(c for c in compute_ax.containers if c.get_label() == "h2")
    y = h2.lines[0].get_ydata()  # budgets 2 and 10, in order
    assert np.isnan(y[0]) and np.isfinite(y[1])
