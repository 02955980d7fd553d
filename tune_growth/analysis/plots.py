"""Plots from the Parquet results (headless matplotlib). Every function takes tables (or a
schedule, or an LR-finder result) and returns a Figure; nothing here trains or knows Ray.

Colours are per hypothesis and the same in every plot; the baseline is black. No backend is forced:
matplotlib uses Agg where there is no display, and notebooks keep their inline backend.
"""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tune_growth.schedule.core import Schedule

X_AXES = {"step": "optimizer steps", "examples": "examples seen", "wall_seconds": "wall seconds",
          "compute": "compute (examples × pixels)"}


def colours(hypotheses) -> dict[str, tuple]:
    names = sorted(set(hypotheses) - {"baseline"})
    palette = plt.get_cmap("tab10")
    out = {name: palette(i % 10) for i, name in enumerate(names)}
    out["baseline"] = (0.0, 0.0, 0.0, 1.0)
    return out


def _legend(ax, cmap: dict, present) -> None:
    handles = [plt.Line2D([], [], color=cmap[h], lw=2, label=h) for h in sorted(set(present), key=str)]
    ax.legend(handles=handles, fontsize=8, frameon=False)


def loss_curves(metrics: pd.DataFrame, x: str = "step") -> Figure:
    """Train and validation loss of every trial against `x` (step, examples, wall_seconds or compute),
    coloured by hypothesis; hollow circles mark stage boundaries."""
    if x not in X_AXES:
        raise ValueError(f"x={x!r} is invalid; expected one of {', '.join(X_AXES)}")
    cmap = colours(metrics["hypothesis"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True)
    for (_, hyp), rows in metrics.groupby(["trial_id", "hypothesis"], sort=False):
        rows = rows.sort_values("step")
        for ax, col in zip(axes, ("train_loss", "val_loss")):
            ax.plot(rows[x], rows[col], color=cmap[hyp], lw=1, alpha=0.6)
            ends = rows[rows["stage_end"].astype(bool) & ~rows["finished"].astype(bool)]
            ax.scatter(ends[x], ends[col], s=18, facecolors="none", edgecolors=[cmap[hyp]], zorder=3)
    for ax, title in zip(axes, ("train loss", "validation loss (all classes)")):
        ax.set(title=title, xlabel=X_AXES[x], yscale="log")
        ax.grid(alpha=0.3)
    _legend(axes[1], cmap, metrics["hypothesis"])
    fig.suptitle(f"Loss against {X_AXES[x]} (○ = stage boundary)")
    fig.tight_layout()
    return fig


def loss_vs_image_size(metrics: pd.DataFrame) -> Figure:
    """Train and validation loss against the image size in use (the H3 question): every record's loss,
    by size, with the median per size joined."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for col, marker, colour in (("train_loss", "o", "tab:blue"), ("val_loss", "s", "tab:red")):
        jitter = np.random.default_rng(0).uniform(-0.6, 0.6, len(metrics))
        ax.scatter(metrics["image_size"] + jitter, metrics[col], s=8, alpha=0.25, marker=marker, color=colour)
        med = metrics.groupby("image_size")[col].median()
        ax.plot(med.index, med.values, marker=marker, color=colour, lw=2, label=f"{col.replace('_', ' ')} (median)")
    ax.set(xlabel="image size (px)", ylabel="loss", yscale="log", title="Loss against image size")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def best_trials(trials: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The `top` completed trials of each hypothesis by final accuracy, and the baseline control."""
    done = trials[trials["status"] == "completed"].sort_values("final_val_acc", ascending=False)
    return done.groupby("hypothesis", sort=False).head(top)


def pareto(points: pd.DataFrame, cost: str) -> pd.DataFrame:
    """The frontier: for each cost, the best accuracy reached at that cost or less."""
    ordered = points.sort_values(cost)
    return ordered.assign(frontier=ordered["val_acc"].cummax()).drop_duplicates("frontier")


def accuracy_vs_cost(metrics: pd.DataFrame, trials: pd.DataFrame, top: int = 3) -> Figure:
    """Time-to-accuracy: validation accuracy against compute and against wall time for the best trials
    of each hypothesis, with the Pareto frontier over every record of every trial."""
    cmap = colours(trials["hypothesis"])
    chosen = best_trials(trials, top)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, cost in zip(axes, ("compute", "wall_seconds")):
        for trial_id, hyp in zip(chosen["trial_id"], chosen["hypothesis"]):
            rows = metrics[metrics["trial_id"] == trial_id].sort_values("step")
            ax.plot(rows[cost], rows["val_acc"], color=cmap[hyp], lw=1.5, alpha=0.8)
        front = pareto(metrics, cost)
        ax.step(front[cost], front["frontier"], where="post", color="grey", ls="--", lw=1, label="Pareto frontier")
        top_acc = metrics["val_acc"].max()
        ax.set(xlabel=X_AXES[cost], ylabel="validation accuracy", ylim=(max(0.0, top_acc - 0.25), min(1.0, top_acc + 0.02)))
        ax.grid(alpha=0.3)
    _legend(axes[0], cmap, chosen["hypothesis"])
    axes[1].legend(frameon=False, fontsize=8)
    fig.suptitle(f"Accuracy against compute and time: best {top} per hypothesis")
    fig.tight_layout()
    return fig


def schedule_timeline(schedule: Schedule | str) -> Figure:
    """The schedule as a picture: stages along the budget; bar heights show the share of classes,
    the examples per class (log scale, "all" full height) and the image size on three rows."""
    s = Schedule.from_json(schedule) if isinstance(schedule, str) else schedule
    most = max([st.per_class for st in s.stages if st.per_class] or [1])
    biggest = max(st.image_size for st in s.stages)
    rows = (  # label, height in (0, 1], text
        ("classes", lambda st: len(st.classes) / s.num_classes, lambda st: str(len(st.classes))),
        ("examples / class", lambda st: 1.0 if st.per_class is None else 0.2 + 0.6 * np.log1p(st.per_class) / np.log1p(most),
         lambda st: "all" if st.per_class is None else str(st.per_class)),
        ("image size", lambda st: st.image_size / biggest, lambda st: f"{st.image_size}px"))
    fig, axes = plt.subplots(3, 1, figsize=(9, 4.2), sharex=True)
    start = 0.0
    for k, st in enumerate(s.stages):
        colour = plt.get_cmap("viridis")(k / max(1, len(s.stages) - 1))
        for ax, (label, height, text) in zip(axes, rows):
            ax.bar(start, height(st), width=st.share, align="edge", color=colour, edgecolor="white")
            light = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2] > 0.5  # luminance
            ax.text(start + st.share / 2, height(st) / 2, text(st), ha="center", va="center", fontsize=9,
                    color="black" if light else "white")
            ax.set(ylim=(0, 1.05), yticks=[])
            ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        start += st.share
    axes[-1].set(xlim=(0, 1), xlabel="fraction of the budget")
    axes[0].set_title(s.describe(), fontsize=10)
    fig.tight_layout()
    return fig


def asha_view(metrics: pd.DataFrame, trials: pd.DataFrame) -> Figure:
    """Every trial's validation accuracy over the budget it used; × where the scheduler stopped it."""
    cmap = colours(trials["hypothesis"])
    status = dict(zip(trials["trial_id"], trials["status"]))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for (trial_id, hyp), rows in metrics.groupby(["trial_id", "hypothesis"], sort=False):
        rows = rows.sort_values("step")
        ax.plot(rows["budget_used"], rows["val_acc"], color=cmap[hyp], lw=1, alpha=0.7)
        if status.get(trial_id) == "stopped":
            ax.scatter(rows["budget_used"].iloc[-1], rows["val_acc"].iloc[-1], marker="x", color=cmap[hyp], s=30)
    ax.set(xlabel="budget used (compute ÷ the baseline's at the same budget)", ylabel="validation accuracy",
           title="ASHA: every trial over its budget (× = stopped early)")
    ax.grid(alpha=0.3)
    _legend(ax, cmap, trials["hypothesis"])
    fig.tight_layout()
    return fig


def search_history(trials: pd.DataFrame, column: str = "final_val_acc", mode: str = "max") -> Figure:
    """Each trial's final metric by trial number (colour: status) and the best so far."""
    ordered = trials.sort_values("trial_number")
    fig, ax = plt.subplots(figsize=(9, 4.2))
    styles = {"completed": "tab:green", "screened": "tab:olive", "stopped": "tab:orange", "diverged": "tab:red",
              "errored": "tab:purple", "running": "tab:gray"}
    for status, rows in ordered.groupby("status"):
        ax.scatter(rows["trial_number"], rows[column], color=styles.get(status, "k"), s=20, label=status)
    done = ordered[column].where(ordered["status"] == "completed")
    best = done.cummax() if mode == "max" else done.cummin()
    ax.step(ordered["trial_number"], best, where="post", color="k", lw=1.5, label="best so far (completed)")
    ax.set(xlabel="trial number (0 = baseline control)", ylabel=column.replace("_", " "), title="Search history")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def param_importance(state: dict) -> Figure:
    """optuna.importance (fANOVA) over the space's completed trials, from a searcher's saved state
    (results.export.searcher_state: its history, mode and, for a budget ladder, rungs)."""
    import optuna

    from tune_growth.search.history import HistoryEntry, optuna_study

    history = [HistoryEntry.from_dict(e) for e in state["history"]]
    study = optuna_study(history, state.get("mode", "max"), rungs=state.get("rungs"))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    try:
        importances = optuna.importance.get_param_importances(study) if len(complete) >= 2 else {}
    except (RuntimeError, ValueError):  # e.g. every completed trial has the same value
        importances = {}
    if importances:
        names = list(importances)[::-1]
        ax.barh(names, [importances[n] for n in names], color="tab:blue")
        ax.set(xlabel="importance (fANOVA)", title=f"Parameter importance ({len(complete)} completed trials)")
    else:
        ax.text(0.5, 0.5, "too few completed trials for parameter importance", ha="center", va="center")
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def lr_finder_curve(result: dict | str) -> Figure:
    """The LR range test: smoothed loss against LR (log), each rule's suggestion and the LR used."""
    r = json.loads(result) if isinstance(result, str) else result
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(r["lrs"], r["losses"], color="tab:blue")
    for (name, lr), colour in zip(r["suggestions"].items(), ("tab:green", "tab:orange", "tab:purple")):
        ax.axvline(lr, color=colour, ls=":", label=f"{name}: {lr:.2g}")
    if r.get("max_lr"):
        ax.axvline(r["max_lr"], color="k", lw=1.5, label=f"max LR used: {r['max_lr']:.2g} ({r.get('rule', '')} × lr_mult)")
    ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss", title="LR finder")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
