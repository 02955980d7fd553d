"""Run the study on Ray and write its tables, plots and page."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import ray

from tune_growth.analysis.report import render_html, save_figures
from tune_growth.data import ImageDataset
from tune_growth.io import atomic_write_parquet, atomic_write_text
from tune_growth.schedule.core import Schedule
from tune_growth.search.trial import dataset_payload
from tune_growth.study.effects import (
    accuracy_figure,
    compact_markdown,
    curves_figure,
    effects_table,
    markdown,
    speedup_figure,
)
from tune_growth.study.run import default_targets, run_all, runs_table
from tune_growth.train.config import RunConfig


def write_study(entries: dict[str, Schedule], data: ImageDataset, args) -> str:
    """Run every schedule over the seeds; write the outputs; return the Markdown verdicts."""
    runs, targets = run_study(entries, data, args)
    return write_outputs(runs, targets, args.out, f"{args.dataset}, {args.model}, {args.seeds} seeds")


def reanalyse(out: Path) -> str:
    """Recompute effects, tables, plots and page from an earlier study's runs.parquet (no training)."""
    runs = pd.read_parquet(out / "runs.parquet")
    targets = sorted(float(c.removeprefix("reached_")) for c in runs.columns if c.startswith("reached_"))
    return write_outputs(runs, targets, out, f"{runs['seed'].nunique()} seeds (reanalysed)")


def run_study(entries: dict[str, Schedule], data: ImageDataset, args) -> tuple[pd.DataFrame, list[float]]:
    if not ray.is_initialized():
        address = args.address or os.environ.get("RAY_ADDRESS")
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 **({} if address else {"num_cpus": args.num_cpus or os.cpu_count()}))
    config = asdict(RunConfig(model=args.model, width=args.width, device="auto", evals=args.evals,
                              precision=args.precision, pretrained=args.pretrained, monitor="test"))
    cpus, gpus = run_resources(args.cpus_per_run, args.gpus_per_run)
    print(f"each run: {cpus:g} CPU, {gpus:g} GPU; precision {args.precision}"
          + (f"; pretrained {args.pretrained}" if args.pretrained else ""), flush=True)
    results, resources = run_all(entries, dataset_payload(data), config, args.seeds, cpus, gpus)
    targets = args.targets or default_targets(results)
    return runs_table(results, entries, targets, resources), targets


def run_resources(cpus_per_run: float, gpus_per_run: str | float | None) -> tuple[float, float]:
    """(CPUs, GPUs) per run: GPUs "auto" is one per run when the cluster has GPUs, else none."""
    if gpus_per_run in (None, "auto"):
        return float(cpus_per_run), 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    return float(cpus_per_run), float(gpus_per_run)


def write_outputs(runs: pd.DataFrame, targets: list[float], out: Path, title: str) -> str:
    effects = effects_table(runs, targets)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(out / "runs.parquet", runs)
    atomic_write_parquet(out / "effects.parquet", effects)
    table = markdown(effects, runs)
    atomic_write_text(out / "study.md", f"# Study: {title}\n\n"
                                        f"Targets: {', '.join(f'{t:.2%}' for t in targets)}.\n\n"
                                        f"{compact_markdown(effects, runs)}\n## Every verdict\n\n{table}")
    figs = {"study_accuracy": (accuracy_figure(runs), "Final accuracy per schedule at the same budget."),
            "study_speedup": (speedup_figure(effects), "Compute saved to reach each target, against the baseline."),
            "study_curves": (curves_figure(runs), "Mean accuracy against compute (dashed: controls).")}
    if "random_growing" in set(runs["label"]):
        figs["study_speedup_random"] = (speedup_figure(effects, "random_growing"),
                                        "Compute saved against the random-order growing set.")
    images = save_figures(figs, out)
    summary = effects[["label", "reference", "measure", "target", "estimate", "low", "high", "verdict"]]
    page = render_html(f"tune_growth study: {title}", summary, images, "Effects with 95% CIs",
                       f"Targets {', '.join(f'{t:.2%}' for t in targets)}; bootstrap over seeds.")
    atomic_write_text(out / "study.html", page)
    return table + f"\nwrote {out / 'runs.parquet'}, {out / 'effects.parquet'}, {out / 'study.md'}, {out / 'study.html'}"
