"""The closing lines of a search: export Parquet, then the best schedule against the baseline."""

from __future__ import annotations

from pathlib import Path

from tune_growth.results import export, read_experiment


def summarize(exp_dir: Path, metric: str, mode: str) -> str:
    """Export trials.parquet / metrics.parquet and describe the best completed schedule."""
    trials_path, metrics_path = export(exp_dir)
    trials, _ = read_experiment(exp_dir)
    column = "final_test_acc" if metric == "test_acc" else "final_test_loss"
    done = trials[(trials["status"] == "completed") & ~trials["is_control"]]
    lines = [f"{len(trials)} trials: " + ", ".join(f"{n} {s}" for s, n in trials["status"].value_counts().items())]
    if len(done):
        best = done.loc[done[column].idxmax() if mode == "max" else done[column].idxmin()]
        lines.append(f"best: {best['hypothesis']} {best['schedule']} -> {metric} {best[column]:.4f}")
        control = trials[trials["is_control"]]
        if len(control) and control.iloc[0]["status"] == "completed":
            base = control.iloc[0]
            lines.append(f"baseline: {base['schedule']} -> {metric} {base[column]:.4f} "
                         f"(best - baseline = {best[column] - base[column]:+.4f})")
    lines.append(f"results: {trials_path} and {metrics_path}")
    return "\n".join(lines)
