"""Read a search's results as DataFrames, writing nothing: from the trial folders as they are
now, or from the Parquet files an export wrote (what the notebooks, the report and the study read).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from tune_growth.results.export import check_schema, read_experiment
from tune_growth.results.schema import to_arrow


def experiments(results_dir: Path) -> list[Path]:
    """The experiment folders at or under `results_dir` (a folder holding trial_* folders, or a
    search's trials.parquet)."""
    is_exp = lambda p: any(p.glob("trial_*/params.json")) or (p / "trials.parquet").is_file()  # noqa: E731
    if is_exp(results_dir):
        return [results_dir]
    return sorted(p for p in results_dir.iterdir() if p.is_dir() and is_exp(p))


def as_stored(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """`frame` as its Parquet file would give it back (its table's schema, schema.py), through
    memory: reading from the trial folders and from the files give one frame."""
    buffer = io.BytesIO()
    pq.write_table(to_arrow(frame, table), buffer)
    buffer.seek(0)
    return pd.read_parquet(buffer)


def load(results_dir: str | Path, refresh: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """Trials and metrics of every experiment found; with `refresh`, read from the trial folders
    (what the search wrote so far), else from the Parquet files as they are. Never writes."""
    exps = experiments(Path(results_dir))
    frames = []
    for exp in exps:
        if refresh and any(exp.glob("trial_*/params.json")):
            found = read_experiment(exp)
            trials, metrics = as_stored(found[0], "trials"), as_stored(found[1], "metrics")
        else:
            trials = check_schema(pd.read_parquet(exp / "trials.parquet"), exp / "trials.parquet")
            metrics = pd.read_parquet(exp / "metrics.parquet")
        frames.append((trials, metrics))
    trials = pd.concat([t for t, _ in frames], ignore_index=True) if frames else pd.DataFrame()
    metrics = pd.concat([m for _, m in frames], ignore_index=True) if frames else pd.DataFrame()
    return trials, metrics, exps
