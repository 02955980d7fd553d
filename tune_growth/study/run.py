"""Run a study: every schedule at every budget over several seeds as Ray tasks, then the measures
per run.

Each run trains on the training part (the same validation split carved out as in the searches)
and evaluates the test split at every record: the study reports, so its accuracies and times to
a target accuracy are on test. Each run asks Ray for `cpus` CPUs and `gpus` GPUs (fractions share
a GPU), so on a GPU cluster the study trains where the searches trained.

Every finished run is appended at once to `runs.jsonl` in the output folder (one JSON line: its
key, labels, records and resources), so a study killed at any point loses only the runs in
flight; `--resume` reads the file back and runs only what is missing. A run's key hashes what its
numbers depend on (the schedule at its budget, the run config, the seed and the dataset's content
fingerprint) and its label, so a changed search result or setting reruns exactly the runs it changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
import ray
import torch
from tqdm.auto import tqdm

from tune_growth.data import ImageDataset
from tune_growth.io import append_jsonl, read_jsonl_by_key
from tune_growth.schedule.core import Schedule
from tune_growth.search.run import init_ray
from tune_growth.search.trial import dataset_from_payload, dataset_payload
from tune_growth.study import RUNS_LOG
from tune_growth.study.config import StudyConfig
from tune_growth.train.config import RunConfig
from tune_growth.train.records import Record
from tune_growth.train.trainer import Trainer


@ray.remote
def run_one(schedule_json: str, payload: dict, config: RunConfig, seed: int) -> tuple[list[Record], dict]:
    """Train one schedule with one seed to the end; return its records and the resources Ray gave it."""
    resources = ray.get_runtime_context().get_assigned_resources()
    torch.set_num_threads(max(1, int(resources.get("CPU", 1))))
    data = dataset_from_payload(payload)
    trainer = Trainer(Schedule.from_json(schedule_json), data, replace(config, seed=seed))
    return list(trainer.run()), resources


def run_key(label: str, schedule: Schedule, config: RunConfig, seed: int, fingerprint: str) -> str:
    """What a run's numbers depend on, and its label (two labels never share a run), hashed
    (BLAKE2b, 128 bits). The config enters as its fields' dict, seed included, as it always has,
    so the keys in an earlier study's runs.jsonl still match."""
    text = json.dumps([label, schedule.to_json(), asdict(config), seed, fingerprint], sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def run_all(entries: dict[tuple[str, float], Schedule], payload: dict, config: RunConfig, seeds: int | range,
            cpus: float = 1.0, gpus: float = 0.0, log: Path | None = None) -> list[dict]:
    """Every (label, budget) schedule over `seeds` (a count from 0, or a range), in parallel on the Ray cluster, each run
    asking for `cpus` CPUs and `gpus` GPUs; runs already in `log` (runs.jsonl) with the same key
    are taken from it, every new one is appended to it as it ends. Returns one row per run:
    key, label, budget, seed, records, resources."""
    config = replace(config, monitor="test")  # the study reports: time to a test accuracy
    done = read_jsonl_by_key(log) if log is not None else {}
    wanted = {run_key(label, s, config, seed, payload["fingerprint"]): (label, budget, seed, s)
              for seed in (range(seeds) if isinstance(seeds, int) else seeds) for (label, budget), s in entries.items()}
    rows = [done[k] for k in wanted if k in done]
    todo = {k: v for k, v in wanted.items() if k not in done}
    if todo:
        ref = ray.put(payload)
        task = run_one.options(num_cpus=cpus, num_gpus=gpus)
        jobs = {task.remote(s.to_json(), ref, config, seed): key for key, (_, _, seed, s) in todo.items()}
        pending = list(jobs)
        with tqdm(total=len(wanted), initial=len(rows), desc="study runs", unit="run") as bar:
            while pending:
                finished, pending = ray.wait(pending, num_returns=1)
                key = jobs[finished[0]]
                records, resources = ray.get(finished[0])
                label, budget, seed, _ = todo[key]
                row = {"key": key, "label": label, "budget": budget, "seed": seed, "records": records,
                       "resources": {k: float(v) for k, v in resources.items()}}
                if log is not None:
                    append_jsonl(log, row)
                rows.append(row)
                bar.update(1)
    return rows


def run_study(entries: dict[tuple[str, float], Schedule], data: ImageDataset, config: StudyConfig) -> pd.DataFrame:
    """Every (label, budget) schedule over the study's seeds on Ray (started here unless it runs
    already), resumable from OUT/runs.jsonl: one row per run (runs_table)."""
    init_ray(config.address, config.num_cpus)
    cpus, gpus = run_resources(config.cpus_per_run, config.gpus_per_run)
    print(f"each run: {cpus:g} CPU, {gpus:g} GPU; precision {config.precision}"
          + (f"; pretrained {config.pretrained}" if config.pretrained else ""), flush=True)
    config.out.mkdir(parents=True, exist_ok=True)
    rows = run_all(entries, dataset_payload(data), config.run_config(), config.seeds, cpus, gpus,
                   log=config.out / RUNS_LOG)
    return runs_table(rows, entries)


def run_resources(cpus_per_run: float, gpus_per_run: float | None) -> tuple[float, float]:
    """(CPUs, GPUs) per run: GPUs None (auto) is one per run when the cluster has GPUs, else none."""
    if gpus_per_run is None:
        return float(cpus_per_run), 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    return float(cpus_per_run), float(gpus_per_run)


def runs_table(rows: list[dict], entries: dict[tuple[str, float], Schedule]) -> pd.DataFrame:
    """One row per (schedule, budget, seed): final accuracies and costs, the curve (compute,
    training seconds, test accuracy at every record) and the CPUs and GPUs the run was given."""
    out = []
    for row in sorted(rows, key=lambda r: (r["label"], r["budget"], r["seed"])):
        s, records, given = entries[(row["label"], row["budget"])], row["records"], row["resources"]
        last = records[-1]
        out.append({"label": row["label"], "hypothesis": s.hypothesis, "budget": float(row["budget"]),
                    "seed": row["seed"], "schedule": s.describe(), "schedule_json": s.to_json(),
                    "final_test_acc": last["test_acc"], "final_val_acc": last["val_acc"], "status": last["status"],
                    "compute": last["compute"], "wall_seconds": last["wall_seconds"],
                    "eval_seconds": last["eval_seconds"], "examples": last["examples"],
                    "cpus": float(given.get("CPU", 0.0)), "gpus": float(given.get("GPU", 0.0)),
                    "curve_json": json.dumps([[r["compute"], r["wall_seconds"], r["test_acc"]] for r in records])})
    return pd.DataFrame(out)
