"""Hypotheses compared by their fronts: every frontier search's trials and Pareto front on one
plot (validation accuracy against log cost), each front's hypervolume against one stated
reference point, and the expected hypervolume of n trials with a bootstrap band (the frontier
analogue of expected_best.py: comparing the curves at equal n compares the spaces at equal
search effort). The report and the study draw these; the measures are results/frontier.py's.

Searches are compared only on the same cost (compute, or seconds): one table, figure and
reference point per cost. The reference point is chance accuracy (1 / the classes the trials
saw) and twice the costliest baseline control's cost (frontier.reference_point).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tune_growth.analysis.plots import colours
from tune_growth.analysis.tables import markdown_table
from tune_growth.results.frontier import (
    COST_WORDS,
    COSTS,
    expected_hypervolume_band,
    front_trials,
    hypervolume,
    pareto_mask,
    reference_point,
)

FRONT_COLUMNS = ["experiment", "space", "cost", "trials", "front", "hypervolume", "expected_all", "low", "high",
                 "ref_accuracy", "ref_cost"]


def frontier_searches(trials: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """cost name -> the trials of the frontier searches drawn against it."""
    if "frontier_cost" not in trials:
        return {}
    found = trials[trials["frontier_cost"].notna()]
    return {cost: group for cost, group in found.groupby("frontier_cost", sort=True)}


# What the study keeps of its frontier searches' trials (front_points.parquet) to redraw their fronts
POINT_COLUMNS = ["experiment", "trial_number", "hypothesis", "is_control", "status", "final_val_acc",
                 "final_test_acc", *COSTS.values(), "pareto", "frontier_cost"]


def chance(metrics: pd.DataFrame) -> float:
    """1 / the classes the trials saw (0 where the records do not say)."""
    seen = metrics["classes_seen"].dropna() if "classes_seen" in metrics else []
    return 1.0 / float(np.max(seen)) if len(seen) else 0.0


def _space(group: pd.DataFrame) -> str:
    points = group.loc[~group["is_control"].astype(bool), "hypothesis"]
    return points.mode().iloc[0] if len(points) else group["hypothesis"].iloc[0]


def front_table(trials: pd.DataFrame, cost: str, ref: tuple[float, float], seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """(table, curves): one row per search (its front's size and hypervolume, the expected
    hypervolume of all its trials with a 95% bootstrap band) and, per search, the curve
    (n, expected, low, high)."""
    rows, curves = [], {}
    column = COSTS[cost]
    for exp, group in trials.groupby("experiment", sort=True):
        counted = group[front_trials(group)]
        if counted.empty:
            continue
        acc, cst = counted["final_val_acc"].to_numpy(float), counted[column].to_numpy(float)
        curve, low, high = expected_hypervolume_band(acc, cst, ref, seed=seed)
        curves[exp] = (np.arange(1, len(acc) + 1), curve, low, high)
        rows.append({"experiment": exp, "space": _space(group), "cost": cost, "trials": len(acc),
                     "front": int(pareto_mask(acc, cst).sum()), "hypervolume": hypervolume(acc, cst, *ref),
                     "expected_all": curve[-1], "low": low[-1], "high": high[-1],
                     "ref_accuracy": ref[0], "ref_cost": ref[1]})
    return pd.DataFrame(rows, columns=FRONT_COLUMNS), curves


def fronts_figure(trials: pd.DataFrame, cost: str, ref: tuple[float, float]) -> Figure:
    """Each search's trials (dots; the control a cross) and its Pareto front (a staircase), one
    colour per space, against log cost."""
    column = COSTS[cost]
    fig, ax = plt.subplots(figsize=(8, 4.8))
    cmap = colours(trials["hypothesis"])
    for exp, group in trials.groupby("experiment", sort=True):
        colour = cmap.get(_space(group), "grey")
        counted = group[front_trials(group)].sort_values(column)
        ax.scatter(counted[column], 100 * counted["final_val_acc"], color=colour, s=14, alpha=0.45)
        front = counted[pareto_mask(counted["final_val_acc"].to_numpy(float), counted[column].to_numpy(float))]
        if len(front):
            xs = np.r_[front[column].to_numpy(float), ref[1]]
            ys = 100 * np.r_[front["final_val_acc"].to_numpy(float), front["final_val_acc"].iloc[-1]]
            ax.step(xs, ys, where="post", color=colour, lw=1.8, label=f"{exp} ({len(front)} on the front)")
        control = group[group["is_control"].astype(bool) & (group["status"] == "completed")]
        ax.scatter(control[column], 100 * control["final_val_acc"], color=colour, marker="x", s=40)
    ax.set(xscale="log", xlabel=COST_WORDS[cost], ylabel="validation accuracy (%)",
           title=f"Accuracy–{cost} fronts (× the baseline control; reference point {100 * ref[0]:.3g}%, {ref[1]:.3g})")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def expected_hypervolume_figure(table: pd.DataFrame, curves: dict) -> Figure:
    """One expected-hypervolume curve per search with its band, against the trials drawn."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    cmap = colours(table["space"])
    for _, row in table.iterrows():
        n, curve, low, high = curves[row["experiment"]]
        ax.plot(n, curve, color=cmap[row["space"]], label=row["experiment"])
        ax.fill_between(n, low, high, color=cmap[row["space"]], alpha=0.12)
    ax.set(xscale="log", xlabel="trials drawn from the search (n)",
           ylabel="expected hypervolume (accuracy × decades)",
           title=f"Expected hypervolume of n trials, {table['cost'].iloc[0]} (95% bootstrap band)")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def front_figures(trials: pd.DataFrame, chance_accuracy: float) -> tuple[dict, dict[str, pd.DataFrame]]:
    """(figures, tables): per cost, the fronts figure and the expected-hypervolume figure
    (name -> (Figure, caption)), and the hypervolume table; nothing without frontier searches."""
    figs, tables = {}, {}
    for cost, group in frontier_searches(trials).items():
        ref = reference_point(group, cost, chance_accuracy)
        table, curves = front_table(group, cost, ref)
        if table.empty:
            continue
        where = f"reference point: accuracy {ref[0]:.3g} (chance), {cost} {ref[1]:.3g} (2 × the costliest control's)"
        figs[f"fronts_{cost}"] = (fronts_figure(group, cost, ref),
                                  f"Validation accuracy against {COST_WORDS[cost]}: every trial of each frontier "
                                  f"search and its Pareto front; {where}.")
        figs[f"expected_hypervolume_{cost}"] = (expected_hypervolume_figure(table, curves),
                                                "Expected hypervolume of n trials drawn from each search, with a 95% "
                                                f"bootstrap band over its trials; {where}.")
        tables[cost] = table
    return figs, tables


def table_intro(cost: str, table: pd.DataFrame) -> str:
    """What a hypervolume table holds, its reference point stated."""
    ref = table.iloc[0]
    return (f"Each frontier search's Pareto front of validation accuracy against {COST_WORDS[cost]}: its size, its "
            "hypervolume (accuracy × decades of cost, in log10 cost) against the reference point "
            f"(accuracy {ref['ref_accuracy']:.3g}, chance; {cost} {ref['ref_cost']:.3g}, twice the costliest baseline "
            "control's), and the expected hypervolume of as many trials drawn with replacement, with a 95% bootstrap "
            "band (the control and cut-short runs excluded).")


def for_page(table: pd.DataFrame) -> pd.DataFrame:
    """A hypervolume table as the pages show it: 'mean [low, high]' for the expected hypervolume."""
    out = table[["experiment", "space", "trials", "front", "hypervolume"]].copy()
    out["expected hypervolume, all trials [95%]"] = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in
                                                     zip(table["expected_all"], table["low"], table["high"])]
    return out


def fronts_markdown(tables: dict[str, pd.DataFrame]) -> str:
    """Each cost's hypervolume table (for_page) in Markdown, its intro first."""
    parts = []
    for cost, table in tables.items():
        page = for_page(table)
        rows = ([str(v) if not isinstance(v, float) else f"{v:.3f}" for v in row] for row in page.itertuples(index=False))
        parts.append(f"### Against {cost}\n\n{table_intro(cost, table)}\n\n{markdown_table(list(page.columns), rows)}")
    return "\n".join(parts)
