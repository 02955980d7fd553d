"""Run the study (run.py) and write its tables, plots and page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tune_growth.analysis.expected_best import effort_markdown, expected_best_figure, expected_best_table
from tune_growth.analysis.fronts import POINT_COLUMNS, front_figures, frontier_searches, fronts_markdown
from tune_growth.analysis.report import save_figures
from tune_growth.data import ImageDataset
from tune_growth.io import atomic_write_parquet, atomic_write_text
from tune_growth.results.load import load
from tune_growth.schedule.core import Schedule
from tune_growth.study.config import StudyConfig
from tune_growth.study.effects import (
    budget_markdown,
    compact_markdown,
    effects_table,
    markdown,
    reference_name,
    verdict_sentences,
)
from tune_growth.study.families import primary_markdown
from tune_growth.study.figures import accuracy_figure, budget_figure, curves_figure, speedup_figure
from tune_growth.study.page import study_page
from tune_growth.study.run import run_study
from tune_growth.study.stats import seed_warning
from tune_growth.study.verdicts import Measure


@dataclass(frozen=True)
class Searched:
    """What the study shows of the searches its schedules came from: the expected best against
    search effort (expected_best_table), and the frontier searches' trials (POINT_COLUMNS) with
    the dataset's chance accuracy, for their fronts. Saved beside the study (expected_best.parquet,
    front_points.parquet, study.json's chance) so a reanalysis redraws them."""

    effort: pd.DataFrame | None = None
    points: pd.DataFrame | None = None
    chance: float = 0.0

    @staticmethod
    def of(trials: pd.DataFrame | None, num_classes: int) -> Searched:
        if trials is None:
            return Searched()
        points = trials[POINT_COLUMNS] if frontier_searches(trials) else None
        return Searched(expected_best_table(trials), points, 1.0 / num_classes)

    @staticmethod
    def saved(out: Path, chance: float) -> Searched:
        read = lambda name: pd.read_parquet(out / name) if (out / name).is_file() else None  # noqa: E731
        return Searched(read("expected_best.parquet"), read("front_points.parquet"), chance)

    def save(self, out: Path) -> None:
        if self.effort is not None:
            atomic_write_parquet(out / "expected_best.parquet", self.effort)
        if self.points is not None:
            atomic_write_parquet(out / "front_points.parquet", self.points)

    def fronts(self) -> tuple[dict, dict[str, pd.DataFrame]]:
        """front_figures of the frontier searches, if any."""
        return front_figures(self.points, self.chance) if self.points is not None else ({}, {})


def write_study(entries: dict[tuple[str, float], Schedule], data: ImageDataset, config: StudyConfig,
                warning: str | None) -> str:
    """Run every schedule at every budget over the seeds; write the outputs; return the Markdown verdicts."""
    runs = run_study(entries, data, config)
    if config.mlflow:
        from tune_growth.search.mlflow_log import log_study_runs

        log_study_runs(config.mlflow, f"study {config.out.resolve().name}", runs)
    trials = load(config.results)[0] if config.results is not None else None
    # tuned: the baseline came from a search of the baseline space (not only the searches' trial-0 controls)
    tuned = trials is not None and bool(((trials["hypothesis"] == "baseline") & ~trials["is_control"]).any())
    return write_outputs(runs, list(config.targets) or None, config.out, config.title,
                         Searched.of(trials, data.num_classes), warning, tuned)


def reanalyse(out: Path) -> str:
    """Recompute effects, tables, plots and page from an earlier study's runs.parquet (no training)."""
    runs = pd.read_parquet(out / "runs.parquet")
    if "budget" not in runs:  # a study from before the budget sweep: one budget, its schedules'
        runs["budget"] = [Schedule.from_json(j).budget_epochs for j in runs["schedule_json"]]
    saved = json.loads((out / "study.json").read_text()) if (out / "study.json").is_file() else {}
    searched = Searched.saved(out, saved.get("chance", 0.0))
    seeds = int(runs.groupby(["label", "budget"])["seed"].nunique().min())
    warning = seed_warning(seeds, refuse=False)
    return write_outputs(runs, saved.get("targets"), out, saved.get("title", f"{seeds} seeds (reanalysed)"), searched,
                         warning, saved.get("tuned_baseline", True))


def study_markdown(effects: pd.DataFrame, runs: pd.DataFrame, title: str, effort: pd.DataFrame | None,
                   warning: str | None, tuned: bool = True, fronts: dict[str, pd.DataFrame] | None = None) -> str:
    """study.md: the verdict sentences, effect against budget, expected best against search
    effort, the frontier searches' hypervolumes, each budget's table and every verdict."""
    budgets = sorted(runs["budget"].unique())
    parts = [f"# Study: {title}\n"]
    if warning:
        parts.append(f"**{warning}**\n")
    parts.append(f"## Primary comparisons\n\n{primary_markdown(effects)}")
    parts.append("## Verdicts (each comparison alone, uncorrected)\n\n"
                 + "\n".join(f"- {s}" for s in verdict_sentences(effects, tuned)) + "\n")
    parts.append("## Effect against budget\n\nPaired by seed, 95% t intervals; (n.s.): the interval holds 0. "
                 "Plot: study_budget.png.\n")
    base = reference_name("baseline", tuned)
    sections = (("baseline", Measure.ACCURACY, f"Final test accuracy against the {base} (points)"),
                ("baseline", Measure.COMPUTE, f"Compute saved to the higher target against the {base}"),
                ("random_growing", Measure.ACCURACY, "Final test accuracy against the random-order control (points)"))
    for ref, measure, what in sections:
        if ref in set(runs["label"]):
            parts.append(f"### {what}\n\n{budget_markdown(effects, runs, ref, measure)}")
    if effort is not None and not effort.empty:
        parts.append("## Expected best against search effort\n\nExpected best validation accuracy (%) of n trials drawn "
                     "from each search, 95% bootstrap band over its trials (Dodge et al. 2019). Plot: "
                     "expected_best.png.\n\n" + effort_markdown(effort))
    if fronts:
        parts.append("## Fronts of the frontier searches\n\nPlots: fronts_<cost>.png, expected_hypervolume_<cost>.png."
                     "\n\n" + fronts_markdown(fronts))
    for b in budgets:
        targets = effects.loc[effects["budget"] == b, "target"].dropna().unique()
        parts.append(f"## At {b:g} epochs\n\nTargets: {', '.join(f'{t:.2%}' for t in sorted(targets))}.\n\n"
                     f"{compact_markdown(effects, runs, b)}")
    parts.append(f"## Every verdict\n\n{markdown(effects, runs)}")
    return "\n".join(parts)


def write_outputs(runs: pd.DataFrame, targets: list[float] | None, out: Path, title: str,
                  searched: Searched, warning: str | None, tuned: bool = True) -> str:
    """Effects, tables, plots and pages of `runs`; `tuned`: whether a search tuned the baseline
    (what the pages call it), kept in study.json for a reanalysis."""
    effects, effort = effects_table(runs, targets), searched.effort
    out.mkdir(parents=True, exist_ok=True)
    saved = {"title": title, "targets": targets, "chance": searched.chance,
             **({} if tuned else {"tuned_baseline": False})}
    atomic_write_text(out / "study.json", json.dumps(saved) + "\n")
    atomic_write_parquet(out / "runs.parquet", runs)
    atomic_write_parquet(out / "effects.parquet", effects)
    searched.save(out)
    front_figs, front_tables = searched.fronts()
    atomic_write_text(out / "study.md", study_markdown(effects, runs, title, effort, warning, tuned, front_tables))
    top = max(runs["budget"])
    at_top, eff_top = runs[runs["budget"] == top], effects[effects["budget"] == top]
    figs = {"study_accuracy": (accuracy_figure(at_top), f"Final accuracy per schedule at {top:g} epochs."),
            "study_curves": (curves_figure(at_top), f"Mean accuracy against compute, {top:g} epochs (dashed: controls).")}
    if not effects.empty:
        figs["study_budget"] = (budget_figure(effects, title, tuned), "Effect against budget, with 95% intervals.")
        figs["study_speedup"] = (speedup_figure(eff_top), f"Compute saved to each target against the baseline, "
                                                          f"{top:g} epochs.")
    if "random_growing" in set(runs["label"]) and not effects.empty:
        figs["study_speedup_random"] = (speedup_figure(eff_top, "random_growing"),
                                        f"Compute saved against the random-order growing set, {top:g} epochs.")
    if effort is not None and not effort.empty:
        figs["expected_best"] = (expected_best_figure(effort), "Expected best validation accuracy against search "
                                                               "effort, per search.")
    images = save_figures({**figs, **front_figs}, out)
    sentences = verdict_sentences(effects, tuned)
    atomic_write_text(out / "study.html", study_page(title, effects, sentences, images, warning, front_tables))
    text = "\n".join(f"- {s}" for s in sentences)
    return (f"{warning + chr(10) if warning else ''}{text}\n\n"
            f"final accuracy against the {reference_name('baseline', tuned)} (points):\n{budget_markdown(effects, runs)}\n"
            f"wrote {out / 'runs.parquet'}, {out / 'effects.parquet'}, {out / 'study.md'}, {out / 'study.html'}")
