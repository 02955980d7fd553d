"""The closing lines of a search: export Parquet, then the best schedule against the baseline."""

from __future__ import annotations

from pathlib import Path

from tune_growth.results.export import export, read_experiment


def summarize(exp_dir: Path, metric: str, mode: str) -> str:
    """Export trials.parquet / metrics.parquet and describe the best completed schedule: chosen by
    `metric` on the validation split, its test figure beside it (the test split chooses nothing)."""
    trials_path, metrics_path = export(exp_dir)
    trials, _ = read_experiment(exp_dir)
    column = f"final_{metric}"
    done = trials[(trials["status"] == "completed") & ~trials["is_control"]]
    lines = [f"{len(trials)} trials: " + ", ".join(f"{n} {s}" for s, n in trials["status"].value_counts().items())]

    def describe(row) -> str:
        return f"{row['schedule']} -> {metric} {row[column]:.4f} (test_acc {row['final_test_acc']:.4f})"

    if len(done):
        best = done.loc[done[column].idxmax() if mode == "max" else done[column].idxmin()]
        lines.append(f"best by {metric}: {best['hypothesis']} {describe(best)}")
        control = trials[trials["is_control"]]
        if len(control) and control.iloc[0]["status"] == "completed":
            base = control.iloc[0]
            lines.append(f"baseline: {describe(base)} (best - baseline = {best[column] - base[column]:+.4f} {metric})")
    lines.append(f"results: {trials_path} and {metrics_path}")
    return "\n".join(lines)
