"""The study's plots: effect against budget, and at one budget the final accuracies, the compute
saved to each target and the mean curves. Each takes the study's tables and returns a Figure."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tune_growth.analysis.plots import colours
from tune_growth.schedule.controls import is_control
from tune_growth.study.effects import REFERENCES, of, reference_name
from tune_growth.study.stats import t_interval
from tune_growth.study.verdicts import Measure


def budget_figure(effects: pd.DataFrame, title: str, tuned: bool = True) -> Figure:
    """Effect against budget: rows are the references (the tuned baseline, the random-order
    control), columns the final accuracy difference (points) and the compute saved to the higher
    target (%); one line per schedule under test, with its 95% intervals (log budget axis). A
    hollow point: not every seed reached the target (its cost counts at the full budget). No point
    where no seed reached it: the censored costs alone would show a cheap run as a saving."""
    refs = [r for r in REFERENCES if r in set(effects["reference"])]
    fig, axes = plt.subplots(len(refs), 2, figsize=(11, 3.6 * len(refs)), squeeze=False)
    labels = sorted(lb for lb in effects["label"].unique() if not is_control(lb))
    cmap = colours(labels)
    budgets = sorted(effects["budget"].unique())
    for row, ref in enumerate(refs):
        for col, (measure, scale, ylabel) in enumerate(((Measure.ACCURACY, 1, "accuracy difference (points)"),
                                                         (Measure.COMPUTE, 100, "compute saved to target (%)"))):
            ax = axes[row, col]
            for i, label in enumerate(labels):
                e = of(effects[(effects["label"] == label) & (effects["reference"] == ref)], measure)
                if measure is Measure.COMPUTE:
                    e = e[e["target"] == e.groupby("budget")["target"].transform("max")].copy()
                    e.loc[e["reached"].fillna(0) == 0, ["estimate", "low", "high"]] = np.nan  # "never reached"
                if e.empty:
                    continue
                e = e.sort_values("budget")
                x = e["budget"] * (1 + 0.03 * (i - len(labels) / 2))  # side by side, not on top of each other
                ax.errorbar(x, scale * e["estimate"], yerr=[scale * (e["estimate"] - e["low"]),
                            scale * (e["high"] - e["estimate"])], fmt="o-", capsize=3, color=cmap[label], label=label)
                if measure is Measure.COMPUTE:  # hollow: a seed missed the target, so its cost is censored
                    censored = e["reached"].fillna(0).to_numpy() < e["seeds"].to_numpy()
                    ax.scatter(x[censored], scale * e["estimate"][censored], s=30, color="white",
                               edgecolors=[cmap[label]], zorder=3)
            ax.axhline(0, color="k", lw=1)
            ax.set(xscale="log", xticks=budgets, xticklabels=[f"{b:g}" for b in budgets], xlabel="budget (epochs)",
                   ylabel=ylabel, title=f"against the {reference_name(ref, tuned)}")
            ax.minorticks_off()
            ax.grid(alpha=0.3)
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"{title}: effect against budget\n(95% CI; above 0 = better; hollow: a seed missed the target; "
                 f"no point: none reached it)")
    fig.tight_layout()
    return fig


def accuracy_figure(runs: pd.DataFrame) -> Figure:
    """Final accuracy per schedule: every seed, and the mean with its 95% t interval."""
    labels = runs.groupby("label")["final_test_acc"].mean().sort_values().index.tolist()
    cmap = colours(runs["hypothesis"])
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.5))
    rng = np.random.default_rng(0)  # the jitter of the dots only
    for i, label in enumerate(labels):
        acc = runs.loc[runs["label"] == label, "final_test_acc"].to_numpy()
        hyp = runs.loc[runs["label"] == label, "hypothesis"].iloc[0]
        mean, low, high = t_interval(acc) if len(acc) >= 2 else (acc.mean(), acc.mean(), acc.mean())
        ax.errorbar(mean, i, xerr=[[mean - low], [high - mean]], fmt="o", color=cmap[hyp], capsize=3)
        ax.scatter(acc, np.full(len(acc), i) + rng.uniform(-0.15, 0.15, len(acc)), s=10, color=cmap[hyp], alpha=0.4)
    ax.set(yticks=range(len(labels)), yticklabels=labels, xlabel="final test accuracy (each seed; mean and 95% CI)",
           title="Final accuracy at the same budget")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def speedup_figure(effects: pd.DataFrame, reference: str = "baseline") -> Figure:
    """Compute saved to each target against `reference`, with 95% intervals (right of 0 = faster)."""
    rows = of(effects[effects["reference"] == reference], Measure.COMPUTE)
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(rows) + 1.5))
    names = [f"{r.label} → {r.target:.2%}" for r in rows.itertuples()]
    ax.errorbar(100 * rows["estimate"], range(len(rows)), xerr=[100 * (rows["estimate"] - rows["low"]),
                100 * (rows["high"] - rows["estimate"])], fmt="o", capsize=3)
    ax.axvline(0, color="k", lw=1)
    ax.set(yticks=range(len(rows)), yticklabels=names, xlabel=f"% of the {reference}'s compute saved to reach the target",
           title=f"Time to accuracy against the {reference} (95% CI)")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def curves_figure(runs: pd.DataFrame) -> Figure:
    """Mean test accuracy against compute per schedule (seeds share their evaluation points)."""
    cmap = colours(runs["hypothesis"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, group in runs.groupby("label"):
        curves = [np.array(json.loads(c), dtype=float) for c in group["curve_json"]]
        n = min(len(c) for c in curves)
        mean = np.mean([c[:n] for c in curves], axis=0)
        ax.plot(mean[:, 0], mean[:, 2], label=label, color=cmap[group["hypothesis"].iloc[0]],
                ls="--" if is_control(label) and label != "baseline" else "-")
    top = runs["final_test_acc"].max()
    ax.set(xlabel="compute (examples × pixels)", ylabel="test accuracy (mean over seeds)", ylim=(top - 0.1, top + 0.01),
           title="Accuracy against compute")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
