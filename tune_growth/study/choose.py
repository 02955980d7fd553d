"""Which schedules a study takes from the searches under --results.

The best completed trial of each hypothesis by final validation accuracy (the test split chooses
nothing). With `per_budget`, per search budget: searches run at several budgets give each budget
its own schedules, so a schedule is studied at the budget it was tuned at (its LR multiplier and
stage shares were chosen for that budget, not replayed from another).

**A steadier choice** (`reselect` K): one validation score is noisy (mnist5k's split is 400
images, so one image is 0.25 points, about the differences a search ranks, and the seed moves it
more), so the K best trials of each hypothesis and budget are re-run over `reselect_seeds` fresh
seeds (RESELECT_SEED onwards, never the study's own) and the one with the highest mean
validation accuracy is taken; ties keep the search's own order. The runs are kept in
OUT/selection.jsonl (resumable) and summarised in OUT/selection.parquet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tune_growth.data import ImageDataset
from tune_growth.io import atomic_write_parquet
from tune_growth.schedule.controls import is_control
from tune_growth.schedule.core import Schedule
from tune_growth.search.trial import dataset_payload
from tune_growth.study import SELECTION_LOG
from tune_growth.study.config import StudyConfig

RESELECT_SEED = 1000  # the candidates' re-runs use seeds from here: the study's own are 0, 1, ...

Found = dict[tuple[str, float | None], list[Schedule]]  # (hypothesis, search budget or None) -> best first


def searched(results: Path, top: int = 1, per_budget: bool = False) -> Found:
    """The `top` completed trials of each hypothesis in the experiments under `results`, best
    validation accuracy first; keyed by (hypothesis, the schedules' budget) with `per_budget`, else
    by (hypothesis, None) over every budget. Control spaces' trials (random_growing, anti_h2) are
    left out, as the study derives its controls from the schedules under test; the baseline stays."""
    from tune_growth.results.load import load

    trials, _, _ = load(results)
    if trials.empty:
        raise ValueError(f"--results {str(results)!r} holds no experiment with trials; expected a search's folder")
    if per_budget and "frontier_cost" in trials and trials["frontier_cost"].notna().any():
        frontier = sorted(trials.loc[trials["frontier_cost"].notna(), "experiment"].unique())
        raise ValueError(f"--per-budget: {', '.join(frontier)} searched the budget (--objective frontier), so each "
                         "trial has a budget of its own; expected searches at fixed budgets, or no --per-budget")
    done = trials[(trials["status"] == "completed") & trials["schedule_json"].notna()].copy()
    done["budget"] = [Schedule.from_json(j).budget_epochs if per_budget else np.nan for j in done["schedule_json"]]
    ranked = done.sort_values("final_val_acc", ascending=False, kind="stable")
    found: Found = {}
    for (hypothesis, budget), group in ranked.groupby(["hypothesis", "budget"], sort=False, dropna=False):
        if hypothesis != "baseline" and is_control(str(hypothesis)):
            continue  # a control space's trials: the study derives its controls from the schedules under test
        key = (str(hypothesis), None if pd.isna(budget) else float(budget))
        found[key] = [Schedule.from_json(j) for j in group["schedule_json"].head(top)]
    return found


def reselect(found: Found, data: ImageDataset, config: StudyConfig, cpus: float, gpus: float) -> dict:
    """(hypothesis, budget) -> the candidate with the best mean final validation accuracy over
    `config.reselect_seeds` fresh seeds, each run at its searched budget; writes
    OUT/selection.parquet (one row per candidate: its mean, spread and whether it was chosen)."""
    from tune_growth.study.run import run_all

    budgets = {s.budget_epochs for cands in found.values() for s in cands}
    if None in {b for _, b in found} and len(budgets) > 1:  # candidates tuned at different budgets are not comparable
        raise ValueError(f"--reselect {config.reselect}: the searches under --results ran at budgets "
                         f"{' '.join(f'{b:g}' for b in sorted(budgets))}; expected --per-budget with them")
    label = lambda h, s, i: f"{h} @{s.budget_epochs:g} candidate {i}"  # noqa: E731 (one per hypothesis and budget)
    runs = {(label(h, s, i), s.budget_epochs): s for (h, _), cands in found.items() for i, s in enumerate(cands)}
    seeds = range(RESELECT_SEED, RESELECT_SEED + config.reselect_seeds)
    config.out.mkdir(parents=True, exist_ok=True)
    rows = run_all(runs, dataset_payload(data), config.run_config(), seeds, cpus, gpus,
                   log=config.out / SELECTION_LOG)
    val = pd.DataFrame([{"label": r["label"], "val_acc": r["records"][-1]["val_acc"]} for r in rows])
    mean, spread = val.groupby("label")["val_acc"].mean(), val.groupby("label")["val_acc"].std()
    chosen, table = {}, []
    for (h, b), cands in found.items():
        means = [float(np.nan_to_num(mean[label(h, s, i)], nan=-np.inf)) for i, s in enumerate(cands)]
        best = max(range(len(cands)), key=lambda i: (means[i], -i))  # ties: the search's own order
        chosen[(h, b)] = cands[best]
        table += [{"hypothesis": h, "budget": b, "candidate": i, "schedule": s.describe(), "schedule_json": s.to_json(),
                   "seeds": config.reselect_seeds, "mean_val_acc": float(mean[label(h, s, i)]),
                   "sd_val_acc": float(spread[label(h, s, i)]), "chosen": i == best} for i, s in enumerate(cands)]
    atomic_write_parquet(config.out / "selection.parquet", pd.DataFrame(table))
    return chosen
