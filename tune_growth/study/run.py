"""Run a study: every schedule over several seeds as Ray tasks, then the measures per run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import ray
import torch
from tqdm.auto import tqdm

from tune_growth.schedule import Schedule
from tune_growth.trainer import RunConfig, Trainer
from tune_growth.trial import dataset_from_payload


@ray.remote(num_cpus=1)
def run_one(schedule_json: str, payload: dict, config: dict, seed: int) -> list[dict]:
    """Train one schedule with one seed to the end; return its records."""
    torch.set_num_threads(1)
    data = dataset_from_payload(payload)
    trainer = Trainer(Schedule.from_json(schedule_json), data, RunConfig(**{**config, "seed": seed}))
    return list(trainer.run())


def run_all(entries: dict[str, Schedule], payload: dict, config: dict, seeds: int) -> dict:
    """{(label, seed): records} for every schedule and seed, in parallel on the Ray cluster."""
    ref = ray.put(payload)
    jobs = {run_one.remote(s.to_json(), ref, config, seed): (label, seed)
            for seed in range(seeds) for label, s in entries.items()}
    out, pending = {}, list(jobs)
    with tqdm(total=len(jobs), desc="study runs", unit="run") as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            out[jobs[done[0]]] = ray.get(done[0])
            bar.update(1)
    return out


def measures(records: list[dict], targets: list[float]) -> dict:
    """Final accuracy, and per target whether it was reached and the cost to reach it; a run that
    never reached a target is censored at its full budget (compute, seconds, examples)."""
    last = records[-1]
    row = {"final_test_acc": last["test_acc"], "status": last["status"], "compute": last["compute"],
           "wall_seconds": last["wall_seconds"], "examples": last["examples"]}
    for t in targets:
        hit = next((r for r in records if r["test_acc"] >= t), None)
        row[f"reached_{t:.4f}"] = hit is not None
        for key in ("compute", "wall_seconds", "examples"):
            row[f"{key}_to_{t:.4f}"] = (hit or last)[key]
    return row


def runs_table(results: dict, entries: dict[str, Schedule], targets: list[float]) -> pd.DataFrame:
    rows = []
    for (label, seed), records in sorted(results.items()):
        s = entries[label]
        rows.append({"label": label, "hypothesis": s.hypothesis, "seed": seed, "schedule": s.describe(),
                     "schedule_json": s.to_json(), **measures(records, targets),
                     "curve_json": json.dumps([[r["compute"], r["wall_seconds"], r["test_acc"]] for r in records])})
    return pd.DataFrame(rows)


def default_targets(results: dict) -> list[float]:
    """The baseline's median final accuracy minus 1 and minus 0.5 points."""
    median = float(np.median([records[-1]["test_acc"] for (label, _), records in results.items() if label == "baseline"]))
    return [round(median - 0.01, 4), round(median - 0.005, 4)]
