"""Atomic file writes: a reader (or a killed writer) never sees a half-written file. One
mechanism (write beside the target, then rename over it) for text, Parquet and tensor files."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Callable


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it over `path` (atomic on
    POSIX). A write killed half-way leaves the previous file whole and at most a hidden .tmp file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` atomically (fsynced before the rename)."""
    def write(tmp: Path) -> None:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return atomic_write(path, write)


def atomic_write_parquet(path: str | os.PathLike, frame) -> Path:
    """Write a pandas DataFrame as Parquet (pyarrow) atomically."""
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, engine="pyarrow", index=False))


def read_jsonl_by_key(path: str | os.PathLike) -> dict[str, dict]:
    """A JSON-lines log of finished units, by each line's "key": what a long job's --resume
    reads. A line cut short by a kill is dropped, so that unit runs again; no file, no units. A
    path ending .gz is read gzip-compressed (a log kept in the repository)."""
    done: dict[str, dict] = {}
    path = Path(path)
    if path.is_file():
        raw = path.read_bytes()
        for line in (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[row["key"]] = row
    return done


def append_jsonl(path: str | os.PathLike, row: dict) -> None:
    """Append one finished unit's line (see read_jsonl_by_key), fsynced before the next is awaited."""
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())
