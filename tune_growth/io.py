"""Atomic file writes: a reader (or a killed writer) never sees a half-written file."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def atomic_write_parquet(path: str | os.PathLike, frame: pd.DataFrame) -> Path:
    """Write a DataFrame as Parquet (pyarrow) through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    frame.to_parquet(tmp, engine="pyarrow", index=False)
    os.replace(tmp, path)
    return path
