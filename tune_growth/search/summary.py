"""The closing lines of a search: export Parquet, then the best schedule against the baseline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tune_growth.results.export import export, search_record
from tune_growth.results.frontier import COST_WORDS, COSTS


def summarize(exp_dir: Path, metric: str, mode: str) -> str:
    """Export trials.parquet / metrics.parquet and describe the best completed schedule: chosen by
    `metric` on the validation split, its test figure beside it (the test split chooses nothing)."""
    trials_path, metrics_path = export(exp_dir)
    trials = pd.read_parquet(trials_path)  # what the export just wrote: the trial folders are read once
    column = f"final_{metric}"
    done = trials[(trials["status"] == "completed") & ~trials["is_control"]]
    lines = [f"{len(trials)} trials: " + ", ".join(f"{n} {s}" for s, n in trials["status"].value_counts().items())]

    def describe(row) -> str:
        return f"{row['schedule']} -> {metric} {row[column]:.4f} (test_acc {row['final_test_acc']:.4f})"

    search = search_record(exp_dir)
    if search.get("objective") == "frontier":  # trials differ in budget: no single best, a front
        done = done.iloc[:0]
    if len(done):
        best = done.loc[done[column].idxmax() if mode == "max" else done[column].idxmin()]
        lines.append(f"best by {metric}: {best['hypothesis']} {describe(best)}")
        control = trials[trials["is_control"]]
        if len(control) and control.iloc[0]["status"] == "completed":
            base = control.iloc[0]
            lines.append(f"baseline: {describe(base)} (best - baseline = {best[column] - base[column]:+.4f} {metric})")
    if search.get("objective") == "frontier":
        lines += front_lines(trials, search["cost"], exp_dir)
    lines.append(f"results: {trials_path} and {metrics_path}")
    return "\n".join(lines)


def front_lines(trials, cost: str, exp_dir: Path) -> list[str]:
    """A frontier search's Pareto-optimal trials, cheapest first, and how to ask the front."""
    column = COSTS[cost]
    front = trials[trials["pareto"].fillna(False).astype(bool)].sort_values(column)
    lines = [f"front ({len(front)} Pareto-optimal trials of val accuracy against {COST_WORDS[cost]}):"]
    def point(row) -> str:
        return (f"{row[column]:.3g}: val_acc {row['final_val_acc']:.4f}, test_acc {row['final_test_acc']:.4f} "
                f"(trial {row['trial_number']}, {row['hypothesis']} at budget {row['param_budget_epochs']:.3g}: "
                f"{row['schedule']})")

    lines += [f"  {point(row)}" for _, row in front.iterrows()]
    control = trials[trials["is_control"] & (trials["status"] == "completed")]
    lines += [f"baseline control: {point(row)}" for _, row in control.iterrows()]
    lines.append(f"ask it: tune-growth results {exp_dir} --fastest-to ACC | --best-within COST")
    return lines
