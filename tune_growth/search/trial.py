"""The Ray Tune function trainable around the staged trainer.

The dataset arrives through the object store (`tune.with_parameters`) as numpy arrays, which Ray
maps zero-copy into each worker on a node: it is held once per node, never in the config. Every
evaluation record is reported with `tune.report`; a checkpoint is attached at every stage boundary,
every `checkpoint_every` records and at the end; a restarted trial resumes from
`tune.get_checkpoint()` and continues exactly where it stopped.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune

from tune_growth.data import TENSOR_FIELDS, ImageDataset
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.device import pick_device
from tune_growth.train.trainer import Trainer

CHECKPOINT_FILE = "trainer.pt"


def dataset_payload(data: ImageDataset) -> dict[str, Any]:
    """The dataset as numpy arrays plus metadata (its content fingerprint too, computed once
    here, not in every trial): what goes into the object store."""
    return {"name": data.name, "classes": data.classes, "mean": data.mean, "std": data.std,
            "hierarchy": data.hierarchy, "fingerprint": data.fingerprint,
            **{k: getattr(data, k).cpu().numpy() for k in TENSOR_FIELDS}}


def dataset_from_payload(payload: dict[str, Any]) -> ImageDataset:
    """Rebuild the ImageDataset around the object store's arrays without copying them."""
    with warnings.catch_warnings():  # the shared arrays are read-only; nothing here writes to them
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        tensors = {k: torch.from_numpy(payload[k]) for k in TENSOR_FIELDS}
    return ImageDataset(payload["name"], classes=tuple(payload["classes"]), mean=tuple(payload["mean"]),
                        std=tuple(payload["std"]), hierarchy=payload["hierarchy"], content_hash=payload["fingerprint"],
                        **tensors)


def memory_mb() -> dict:
    """This process's proportional (PSS), private (USS) and anonymous resident memory in MiB, from
    Linux's smaps_rollup. The object store's dataset is shared memory: a copy of it would show as
    anonymous memory, a mapping of it does not (USS may count shared pages no other process maps
    at that moment). {} where unavailable."""
    try:
        fields = dict(line.split(":", 1) for line in open("/proc/self/smaps_rollup").read().splitlines()[1:])
    except OSError:
        return {}
    kib = {k.strip(): int(v.split()[0]) for k, v in fields.items()}
    return {"pss_mb": kib.get("Pss", 0) / 1024, "uss_mb": (kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)) / 1024,
            "anon_mb": kib.get("Anonymous", 0) / 1024}


@dataclass(frozen=True)
class TrialSettings:
    """The per-search settings every trial shares (passed with `tune.with_parameters`): how to
    run (a RunConfig), the torch threads each trial uses (its CPUs), how many records pass between
    checkpoints (stage ends and the end always checkpoint), and, for the reliability tests, the
    step at which each trial raises once (0: never)."""

    run: RunConfig
    threads: int = 1
    checkpoint_every: int = 5
    fail_at_step: int = 0


def baseline_compute(data: ImageDataset, budget_epochs: float) -> float:
    """Examples x pixels of the one-stage baseline at this budget: the unit of ASHA's time axis."""
    return budget_epochs * len(data.train_y) * data.image_size ** 2


def run_trial(config: dict, dataset: dict, run: TrialSettings) -> None:
    """Train the schedule that `config` (the schedule's flat parameters) describes; report every
    record; checkpoint; resume."""
    started_at = time.time()  # wall clock, for utilization timelines (benchmarks/utilization)
    torch.set_num_threads(max(1, run.threads))
    checkpoint_every = run.checkpoint_every
    # Fault injection for the reliability tests: raise once per trial at this step (a marker file
    # in the shared cache folder remembers it); the retry resumes from the last checkpoint.
    fail_at = run.fail_at_step
    fault_marker = Path(run.run.cache_dir) / "faults" / tune.get_context().get_trial_id()
    data = dataset_from_payload(dataset)
    schedule = build_schedule(config, data, run.run.cache_dir, device=pick_device(run.run.device).type)
    trainer = Trainer(schedule, data, run.run)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            trainer.load_state_dict(torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=True))
    fail_at = 0 if fault_marker.exists() else fail_at
    full = baseline_compute(data, schedule.budget_epochs)
    since_checkpoint, first = 0, True
    node_id = ray.get_runtime_context().get_node_id()
    for record in trainer.run():
        if fail_at and record["step"] >= fail_at:
            fault_marker.parent.mkdir(parents=True, exist_ok=True)
            fault_marker.touch()
            raise RuntimeError(f"injected failure at step {record['step']} (fail_at_step)")
        metrics = {**record, "budget_used": record["compute"] / full,
                   "full_problem_share": trainer.full_problem_share(record["examples"], record["compute"]),
                   "hypothesis": schedule.hypothesis,
                   "schedule": schedule.describe(), "max_lr": trainer.max_lr, "node_id": node_id,
                   "started_at": started_at, "reported_at": time.time(),
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **memory_mb()}
        if first:  # once per attempt, for the Parquet export
            metrics["schedule_json"], first = schedule.to_json(), False
            given = ray.get_runtime_context().get_assigned_resources()  # what Ray gave this trial
            metrics.update(cpus=given.get("CPU", 0.0), gpus=given.get("GPU", 0.0), device=str(trainer.device))
            if trainer.lr_finder is not None:
                metrics["lr_finder_json"] = json.dumps({**trainer.lr_finder, "rule": trainer.config.lr_rule,
                                                        "max_lr": trainer.max_lr})
        since_checkpoint += 1
        if record["stage_end"] or record["finished"] or since_checkpoint >= checkpoint_every:
            since_checkpoint = 0
            with tempfile.TemporaryDirectory() as folder:
                torch.save(trainer.state_dict(), Path(folder) / CHECKPOINT_FILE)
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
        else:
            tune.report(metrics)


def run_settings(model: str, width: float, device: str, precision: str, seed: int, evals: int,
                 cache_dir: str, threads: int, checkpoint_every: int = 5, fail_at_step: int = 0,
                 pretrained: str | None = None) -> TrialSettings:
    """The per-search settings every trial shares. Trials monitor the validation split:
    everything a search decides reads it."""
    config = RunConfig(model=model, width=width, device=device, precision=precision, seed=seed, evals=evals,
                       cache_dir=cache_dir, pretrained=pretrained, monitor="val")
    return TrialSettings(config, threads=threads, checkpoint_every=checkpoint_every, fail_at_step=fail_at_step)

