"""Answers from a search's trials, the practitioner's two questions: the cheapest trial that
reached a validation accuracy (`--fastest-to 0.97`), and the most accurate trial within a cost
(`--best-within 2e9`, compute, or `--best-within 1000s`, training seconds). Any search answers;
a frontier search (`--objective frontier`) is the one whose trials span the costs.

Candidates are the trials that ran their schedule to the end, the baseline control included (it
is a schedule like any other, and the answer says when it wins). Selection reads validation only;
the test figure is printed beside it, chosen on nothing. A question no trial answers is a
one-line AnswerError naming the nearest trial.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tune_growth.results.export import schedule_path, search_record
from tune_growth.results.frontier import COST_WORDS, COSTS


class AnswerError(ValueError):
    """No trial answers the question: the one-line message names the nearest one."""


@dataclass(frozen=True)
class CostLimit:
    """A cost ceiling: `value` in the unit of `cost` (results.frontier.COSTS)."""

    value: float
    cost: str


def parse_cost_limit(text: str) -> CostLimit:
    """'2e9' (compute, examples x pixels) or '1000s' (training seconds); ValueError otherwise."""
    seconds = text.strip().lower().endswith("s")
    value = float(text.strip()[:-1] if seconds else text)  # ValueError on anything else
    if not value > 0:
        raise ValueError(text)
    return CostLimit(value, "seconds" if seconds else "compute")


def _candidates(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[trials["status"] == "completed"]


def _name(row: pd.Series) -> str:
    control = " (the baseline control)" if bool(row["is_control"]) else ""
    return f"trial {int(row['trial_number'])}{control}"


def _cost(row: pd.Series, cost: str) -> str:
    return f"{float(row[COSTS[cost]]):.3g} {COST_WORDS[cost]}"


def fastest_to(trials: pd.DataFrame, target: float, cost: str = "compute") -> pd.Series:
    """The completed trial of least `cost` whose final validation accuracy reached `target`."""
    done = _candidates(trials)
    if done.empty:
        raise AnswerError("no trial ran to its end; expected a search with completed trials")
    reached = done[done["final_val_acc"] >= target]
    if reached.empty:
        best = done.loc[done["final_val_acc"].idxmax()]
        raise AnswerError(f"no trial reached val_acc {target:g}; the most accurate is {_name(best)} at "
                          f"{best['final_val_acc']:.4f} ({_cost(best, cost)})")
    return reached.loc[reached[COSTS[cost]].idxmin()]


def best_within(trials: pd.DataFrame, limit: CostLimit) -> pd.Series:
    """The completed trial of highest final validation accuracy whose cost is at most `limit`."""
    done = _candidates(trials)
    if done.empty:
        raise AnswerError("no trial ran to its end; expected a search with completed trials")
    column = COSTS[limit.cost]
    within = done[done[column] <= limit.value]
    if within.empty:
        cheapest = done.loc[done[column].idxmin()]
        raise AnswerError(f"no trial within {limit.value:g} {COST_WORDS[limit.cost]}; the cheapest is "
                          f"{_name(cheapest)} at {_cost(cheapest, limit.cost)} (val_acc "
                          f"{cheapest['final_val_acc']:.4f})")
    return within.loc[within["final_val_acc"].idxmax()]


def rerun_command(exp_dir: Path, row: pd.Series) -> str:
    """The `tune-growth train` line that reruns a trial's schedule on its search's data and model."""
    search = search_record(exp_dir)
    data = search.get("dataset", {})
    args = ["tune-growth", "train", "--schedule", str(schedule_path(exp_dir, row["trial_id"])),
            "--dataset", str(data.get("name", "mnist5k"))]
    for flag, key in (("--data-root", "root"), ("--image-size", "image_size"), ("--val-fraction", "val_fraction")):
        if data.get(key) is not None:
            args += [flag, str(data[key])]
    if data.get("classes"):
        args += ["--classes", ",".join(str(c) for c in data["classes"])]
    if data.get("label_noise"):
        args += ["--label-noise", str(data["label_noise"])]
    for flag, key in (("--model", "model"), ("--width", "width"), ("--precision", "precision"),
                      ("--evals", "evals")):
        if search.get(key) is not None:
            args += [flag, str(search[key])]
    args += ["--seed", str(search.get("seed", 0)), "--out", f"runs/{exp_dir.name}_{row['trial_id']}"]
    return shlex.join(args)


def describe(exp_dir: Path, row: pd.Series, question: str) -> str:
    """The answer: which trial, its cost, schedule, validation and test figures, and how to rerun it."""
    path = schedule_path(exp_dir, row["trial_id"])
    return "\n".join([
        f"{question}: {_name(row)}, {row['hypothesis']}: {_cost(row, 'compute')}, {_cost(row, 'seconds')}",
        f"  schedule: {row['schedule']}",
        f"  val_acc {row['final_val_acc']:.4f} (what chose it); test_acc {row['final_test_acc']:.4f} "
        "(measured once, chose nothing)",
        f"  schedule JSON: {path}",
        f"  rerun: {rerun_command(exp_dir, row)}"])
