"""Disk caches shared by the trials on a node: one mechanism for the LR finder's range tests,
example rankings and class orders.

A cached value lives in a file named by a hash of its key (a JSON-able dict); a file lock makes
concurrent trials wait for the first one instead of repeating the work; the file is written
atomically, so a killed writer leaves no half file; an unreadable file is recomputed. A key that
depends on the data carries the dataset's content fingerprint (`ImageDataset.fingerprint`), never
its name or size: two folders of the same name and size hold different images.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
from filelock import FileLock

from tune_growth.io import atomic_write, atomic_write_text

# Every cache (LR finder, rankings, class orders, spilled activations) lives under here by default.
DEFAULT_CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "tune_growth")

T = TypeVar("T")


def key_file(folder: str | os.PathLike, prefix: str, key: dict, suffix: str) -> Path:
    """FOLDER/PREFIX_<16 hex digits of SHA-1 of the key's sorted JSON>SUFFIX."""
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(folder) / f"{prefix}_{digest}{suffix}"


def cached(path: Path, compute: Callable[[], T], write: Callable[[Path, T], None], read: Callable[[Path], T]) -> T:
    """The value stored at `path`, or `compute()` written there first (under a file lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.is_file():
            try:
                return read(path)
            except (OSError, ValueError, KeyError):  # truncated or foreign: recompute and replace
                pass
        value = compute()
        atomic_write(path, lambda tmp: write(tmp, value))
        return value


def cached_json(folder: str | os.PathLike, prefix: str, key: dict, compute: Callable[[], Any]) -> Any:
    """A JSON value cached under `folder`, keyed by `key`."""
    return cached(key_file(folder, prefix, key, ".json"), compute,
                  lambda tmp, value: atomic_write_text(tmp, json.dumps(value)), lambda p: json.loads(p.read_text()))


def cached_arrays(folder: str | os.PathLike, prefix: str, key: dict,
                  compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Named numpy arrays cached as one .npz under `folder` (read without pickle)."""
    def write(tmp: Path, arrays: dict[str, np.ndarray]) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    def read(path: Path) -> dict[str, np.ndarray]:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}

    return cached(key_file(folder, prefix, key, ".npz"), compute, write, read)
