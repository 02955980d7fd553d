"""Run a study: every schedule over several seeds as Ray tasks, then the measures per run.

Each run trains on the training part (the same validation split carved out as in the searches)
and evaluates the test split at every record: the study reports, so its accuracies and times to
a target accuracy are on test. Each run asks Ray for `cpus` CPUs and `gpus` GPUs (fractions share
a GPU), so on a GPU cluster the study trains where the searches trained.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import ray
import torch
from tqdm.auto import tqdm

from tune_growth.schedule.core import Schedule
from tune_growth.search.trial import dataset_from_payload
from tune_growth.train.config import RunConfig
from tune_growth.train.records import Record, first_reaching
from tune_growth.train.trainer import Trainer


@ray.remote
def run_one(schedule_json: str, payload: dict, config: dict, seed: int) -> tuple[list[Record], dict]:
    """Train one schedule with one seed to the end; return its records and the resources Ray gave it."""
    resources = ray.get_runtime_context().get_assigned_resources()
    torch.set_num_threads(max(1, int(resources.get("CPU", 1))))
    data = dataset_from_payload(payload)
    trainer = Trainer(Schedule.from_json(schedule_json), data, RunConfig(**{**config, "seed": seed}))
    return list(trainer.run()), resources


def run_all(entries: dict[str, Schedule], payload: dict, config: dict, seeds: int, cpus: float = 1.0,
            gpus: float = 0.0) -> tuple[dict, dict]:
    """({(label, seed): records}, {(label, seed): resources}) for every schedule and seed, in
    parallel on the Ray cluster, each run asking for `cpus` CPUs and `gpus` GPUs."""
    ref = ray.put(payload)
    task = run_one.options(num_cpus=cpus, num_gpus=gpus)
    config = {**config, "monitor": "test"}  # the study reports: time to a test accuracy
    jobs = {task.remote(s.to_json(), ref, config, seed): (label, seed)
            for seed in range(seeds) for label, s in entries.items()}
    out, given, pending = {}, {}, list(jobs)
    with tqdm(total=len(jobs), desc="study runs", unit="run") as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            out[jobs[done[0]]], given[jobs[done[0]]] = ray.get(done[0])
            bar.update(1)
    return out, given


def measures(records: list[Record], targets: list[float]) -> dict:
    """Final test accuracy, and per target whether the test accuracy reached it and the cost to
    reach it; a run that never reached a target is censored at its full budget (compute, seconds
    of training, examples). Also the final validation accuracy and the evaluation time."""
    last = records[-1]
    row = {"final_test_acc": last["test_acc"], "final_val_acc": last["val_acc"], "status": last["status"],
           "compute": last["compute"], "wall_seconds": last["wall_seconds"], "eval_seconds": last["eval_seconds"],
           "examples": last["examples"]}
    for t in targets:
        hit = first_reaching(records, t, "test_acc")
        row[f"reached_{t:.4f}"] = hit is not None
        for key in ("compute", "wall_seconds", "examples"):
            row[f"{key}_to_{t:.4f}"] = (hit or last)[key]
    return row


def runs_table(results: dict, entries: dict[str, Schedule], targets: list[float],
               resources: dict | None = None) -> pd.DataFrame:
    """One row per (schedule, seed): measures(), the curve, and the CPUs and GPUs the run was given."""
    rows = []
    for (label, seed), records in sorted(results.items()):
        s, given = entries[label], (resources or {}).get((label, seed), {})
        rows.append({"label": label, "hypothesis": s.hypothesis, "seed": seed, "schedule": s.describe(),
                     "schedule_json": s.to_json(), **measures(records, targets),
                     "cpus": float(given.get("CPU", 0.0)), "gpus": float(given.get("GPU", 0.0)),
                     "curve_json": json.dumps([[r["compute"], r["wall_seconds"], r["test_acc"]] for r in records])})
    return pd.DataFrame(rows)


def default_targets(results: dict) -> list[float]:
    """The baseline's median final accuracy minus 1 and minus 0.5 points."""
    median = float(np.median([records[-1]["test_acc"] for (label, _), records in results.items() if label == "baseline"]))
    return [round(median - 0.01, 4), round(median - 0.005, 4)]
