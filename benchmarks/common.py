"""Shared benchmark helpers: context (machine, versions), robust timing, the datasets benchmarks
load (the CIFAR-10 subset in ../shared among them) and resumable result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import replace
from typing import Callable

import torch

from tune_growth.data import DataSpec, ImageDataset, load_dataset
from tune_growth.io import append_jsonl, read_jsonl_by_key
from tune_growth.train.device import cpu_bf16_features

# The CIFAR-10 subset (npz: 5,000 training and 2,000 test images), beside the repository in
# ../shared/data/cifar10; benchmarks that use it skip or refuse it when it is absent.
CIFAR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cifar10")
CIFAR_SPEC = DataSpec("npz", CIFAR)


# The Tiny-ImageNet subset (npz: 200 classes, 100 training and 50 test images each, 32 px) with
# its WordNet tree (hierarchy.json), beside the repository in ../shared/data/tinyimagenet
TINY = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "tinyimagenet")


def require_tiny(alternative: str = "") -> None:
    """Exit with one line when the Tiny-ImageNet subset is absent; `alternative` ends it."""
    if not os.path.isfile(os.path.join(TINY, "hierarchy.json")):
        raise SystemExit(f"the Tiny-ImageNet subset is absent at {TINY}; expected ../shared/data/tinyimagenet"
                         f"{alternative}")


def cifar_present() -> bool:
    """Whether the CIFAR-10 subset is on this machine (at CIFAR)."""
    return os.path.isdir(CIFAR)


def require_cifar(alternative: str = "") -> None:
    """Exit with one line when the CIFAR-10 subset is absent; `alternative` ends it (", or ...")."""
    if not cifar_present():
        raise SystemExit(f"the CIFAR-10 subset is absent at {CIFAR}; expected ../shared/data/cifar10{alternative}")


def context() -> dict:
    """Machine and versions, so a figure is never read without knowing where it came from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "bf16": list(cpu_bf16_features()),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "torch": torch.__version__, "python": platform.python_version()}


def cpu_label(info: dict | None = None) -> str:
    """The CPU as a figure names it, from context(): its model, cores and native bf16 features,
    e.g. "AMD EPYC (2 cores, AVX512-BF16)" or "AMD EPYC (2 cores, no bf16)"."""
    info = info or context()
    return f"{info['cpu']} ({info['cores']} cores, {', '.join(info['bf16']) or 'no bf16'})"


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


def whole_train(spec: str | DataSpec = "mnist5k", device: str = "cpu") -> ImageDataset:
    """A dataset for a benchmark that measures and selects nothing (speed, accuracy at a fixed
    recipe): the whole training split, no validation split carved out, so its figures compare
    with earlier ones; its runs evaluate the test split (RunConfig(monitor="test"))."""
    spec = DataSpec(spec) if isinstance(spec, str) else spec
    return load_dataset(replace(spec, val_fraction=0.0), device)


# The two datasets the search-level benchmarks compare on: (model, width) for each.
SEARCH_DATASETS = {"mnist5k": ("lenet5", 1.0), "cifar": ("resnet9", 0.25)}


def search_dataset(name: str) -> tuple[ImageDataset, str, float]:
    """(dataset with its validation split, model, width) for `name` in SEARCH_DATASETS; the CIFAR-10
    subset in ../shared, or a one-line exit when it is absent."""
    model, width = SEARCH_DATASETS[name]
    if name == "cifar":
        require_cifar()
        return load_dataset(CIFAR_SPEC), model, width
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
