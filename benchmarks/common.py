"""Shared benchmark helpers: context (machine, versions) and robust timing."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from typing import Callable

import torch

from tune_growth.io import append_jsonl, read_jsonl_by_key


def context() -> dict:
    """Machine and versions, so a figure is never read without knowing where it came from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "torch": torch.__version__, "python": platform.python_version()}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved_medians(fns: dict[str, Callable[[], None]], repeats: int, device: torch.device) -> dict:
    """Run each function once per round, `repeats` rounds, alternating, and return the median
    seconds per function: interleaving spreads machine noise evenly over what is compared."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def emit(name: str, result: dict) -> None:
    print(json.dumps({"benchmark": name, **result, "context": context()}), flush=True)


def whole_train(spec="mnist5k", device="cpu"):
    """A dataset for a benchmark that measures and selects nothing (speed, accuracy at a fixed
    recipe): the whole training split, no validation split carved out, so its figures compare
    with earlier ones; its runs evaluate the test split (RunConfig(monitor="test"))."""
    from dataclasses import replace

    from tune_growth.data import DataSpec, load_dataset

    spec = DataSpec(spec) if isinstance(spec, str) else spec
    return load_dataset(replace(spec, val_fraction=0.0), device)


# The two datasets the search-level benchmarks compare on: (model, width) for each.
SEARCH_DATASETS = {"mnist5k": ("lenet5", 1.0), "cifar": ("resnet9", 0.25)}


def search_dataset(name: str):
    """(dataset with its validation split, model, width) for `name` in SEARCH_DATASETS; the CIFAR-10
    subset in ../shared, or a one-line exit when it is absent."""
    from benchmarks.loop import CIFAR
    from tune_growth.data import DataSpec, load_dataset

    model, width = SEARCH_DATASETS[name]
    if name == "cifar":
        if not os.path.isdir(CIFAR):
            raise SystemExit(f"the CIFAR-10 subset is absent at {CIFAR}; expected ../shared/data/cifar10")
        return load_dataset(DataSpec("npz", CIFAR)), model, width
    return load_dataset(name), model, width


def load_runs(path, resume: bool) -> dict[str, dict]:
    """A long benchmark's finished units, one JSON object per line keyed by "key": what is in `path`
    with `resume` (a line cut short by a kill is dropped, so that unit runs again), else nothing
    (and the old file is removed)."""
    if resume:
        return read_jsonl_by_key(path)
    if path.is_file():
        path.unlink()
    return {}


def append_run(path, row: dict) -> None:
    """Add one finished unit to `path` (see load_runs)."""
    append_jsonl(path, row)
