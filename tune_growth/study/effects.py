"""Effects of each schedule against the baseline and the random-order control, and their plots."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tune_growth.analysis.plots import colours
from tune_growth.study.stats import accuracy_difference, accuracy_verdict, speed_verdict, speedup


def effects_table(runs: pd.DataFrame, targets: list[float], seed: int = 0) -> pd.DataFrame:
    """One row per (schedule, reference, measure): estimate, 95% CI and a plain verdict."""
    rows = []
    by_label = {label: group.sort_values("seed") for label, group in runs.groupby("label")}
    references = [r for r in ("baseline", "random_growing") if r in by_label]
    for label, group in by_label.items():
        for ref in references:
            if label == ref or (ref == "random_growing" and group["hypothesis"].iloc[0] in ("baseline", "budgeted")):
                continue
            base = by_label[ref]
            acc = accuracy_difference(base["final_test_acc"].to_numpy(), group["final_test_acc"].to_numpy(), seed=seed)
            rows.append({"label": label, "reference": ref, "measure": "final accuracy (points)", "target": None,
                         "estimate": acc.estimate, "low": acc.low, "high": acc.high, "verdict": accuracy_verdict(acc)})
            for t in targets:
                for unit, col in (("compute", f"compute_to_{t:.4f}"), ("seconds", f"wall_seconds_to_{t:.4f}")):
                    eff = speedup(base[col].to_numpy(), group[col].to_numpy(), seed=seed)
                    reached = int(group[f"reached_{t:.4f}"].sum())
                    rows.append({"label": label, "reference": ref, "measure": f"{unit} saved to target", "target": t,
                                 "estimate": eff.estimate, "low": eff.low, "high": eff.high,
                                 "verdict": speed_verdict(eff, t, unit, reached, len(group))})
    return pd.DataFrame(rows)


def markdown(effects: pd.DataFrame, runs: pd.DataFrame) -> str:
    """The verdicts as a Markdown table, one row per schedule and reference."""
    lines = ["| schedule | against | final accuracy | compute to target | seconds to target |",
             "| --- | --- | --- | --- | --- |"]
    for (label, ref), group in effects.groupby(["label", "reference"], sort=False):
        acc = group[group["measure"].str.startswith("final")]["verdict"].iloc[0]
        comp = "; ".join(group[group["measure"].str.startswith("compute")]["verdict"])
        secs = "; ".join(group[group["measure"].str.startswith("seconds")]["verdict"])
        described = runs.loc[runs["label"] == label, "schedule"].iloc[0]
        lines.append(f"| {label}: {described} | {ref} | {acc} | {comp} | {secs} |")
    return "\n".join(lines) + "\n"


def compact_markdown(effects: pd.DataFrame, runs: pd.DataFrame) -> str:
    """One row per schedule: mean final accuracy, then against the baseline and against the
    random-order control, the accuracy effect and the compute saved to the highest target."""
    top = effects["target"].dropna().max()
    def cell(label, ref, measure):
        rows = effects[(effects["label"] == label) & (effects["reference"] == ref) & effects["measure"].str.startswith(measure)]
        if measure == "compute":
            rows = rows[rows["target"] == top]
        if rows.empty:
            return "—"
        r = rows.iloc[0]
        if r["verdict"].startswith(("never reached", "inconclusive")):
            return r["verdict"]  # censored costs would mislead: say what happened instead
        scale, unit = (1, " pts") if measure == "final" else (100, "%")
        mark = "" if r["low"] > 0 or r["high"] < 0 else " (n.s.)"
        reached = f" ({r['verdict'].rsplit('(', 1)[-1]}" if r["verdict"].endswith("seeds reached it)") else ""
        return f"{scale * r['estimate']:+.2f}{unit} [{scale * r['low']:+.2f}, {scale * r['high']:+.2f}]{mark}{reached}"
    lines = [f"| schedule | mean final acc | vs baseline: accuracy | vs baseline: compute saved to {top:.2%} "
             f"| vs random order: accuracy | vs random order: compute saved to {top:.2%} |",
             "| --- | --- | --- | --- | --- | --- |"]
    means = runs.groupby("label")["final_test_acc"].mean().sort_values(ascending=False)
    for label, acc in means.items():
        described = runs.loc[runs["label"] == label, "schedule"].iloc[0]
        lines.append(f"| {label}: {described} | {acc:.4f} | {cell(label, 'baseline', 'final')} | "
                     f"{cell(label, 'baseline', 'compute')} | {cell(label, 'random_growing', 'final')} | "
                     f"{cell(label, 'random_growing', 'compute')} |")
    return "\n".join(lines) + "\n"


def accuracy_figure(runs: pd.DataFrame) -> Figure:
    """Final accuracy per schedule: every seed, and the mean with a 95% bootstrap interval."""
    labels = runs.groupby("label")["final_test_acc"].mean().sort_values().index.tolist()
    cmap = colours(runs["hypothesis"])
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.5))
    rng = np.random.default_rng(0)
    for i, label in enumerate(labels):
        acc = runs.loc[runs["label"] == label, "final_test_acc"].to_numpy()
        hyp = runs.loc[runs["label"] == label, "hypothesis"].iloc[0]
        boots = acc[rng.integers(0, len(acc), (5000, len(acc)))].mean(1)
        ax.errorbar(acc.mean(), i, xerr=[[acc.mean() - np.percentile(boots, 2.5)], [np.percentile(boots, 97.5) - acc.mean()]],
                    fmt="o", color=cmap[hyp], capsize=3)
        ax.scatter(acc, np.full(len(acc), i) + rng.uniform(-0.15, 0.15, len(acc)), s=10, color=cmap[hyp], alpha=0.4)
    ax.set(yticks=range(len(labels)), yticklabels=labels, xlabel="final test accuracy (each seed; mean and 95% CI)",
           title="Final accuracy at the same budget")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def speedup_figure(effects: pd.DataFrame, reference: str = "baseline") -> Figure:
    """Compute saved to each target against `reference`, with 95% intervals (right of 0 = faster)."""
    rows = effects[(effects["reference"] == reference) & effects["measure"].str.startswith("compute")]
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
        curves = [np.array(json.loads(c)) for c in group["curve_json"]]
        n = min(len(c) for c in curves)
        mean = np.mean([c[:n] for c in curves], axis=0)
        ax.plot(mean[:, 0], mean[:, 2], label=label, color=cmap[group["hypothesis"].iloc[0]],
                ls="--" if label in ("random_growing", "budgeted") or label.startswith("anti_") else "-")
    top = runs["final_test_acc"].max()
    ax.set(xlabel="compute (examples × pixels)", ylabel="test accuracy (mean over seeds)", ylim=(top - 0.1, top + 0.01),
           title="Accuracy against compute")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
