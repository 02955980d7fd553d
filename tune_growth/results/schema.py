"""One Arrow schema per Parquet table the export writes, so a column keeps its type in every
experiment: an all-null column (no trial errored, no ladder rungs) is written as its declared type,
not as Arrow's null type, and reads back the same wherever it came from. The schema version sits
in each file's metadata as well as in its schema_version column.

Columns a table has only sometimes (param_<name> per config key, the targets' *_to_T) keep the
types their values have; every declared column is cast to its type (a value that does not fit
is an error here, at export, not a surprise in a notebook).
"""

from __future__ import annotations

import typing

import pandas as pd
import pyarrow as pa

from tune_growth.train.records import Record

SCHEMA_VERSION = 2
METADATA_KEY = b"tune_growth.schema_version"
_ARROW = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}


def _arrow_type(hint) -> pa.DataType:
    """A record field's Arrow type from its annotation (Optional[X] is X, nullable)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return _ARROW[args[0] if args else hint]


RECORD_TYPES = {name: _arrow_type(hint) for name, hint in typing.get_type_hints(Record).items()}
# What the trial and Tune add to each record (search/trial.py)
RECORD_EXTRA = {"budget_used": pa.float64(), "training_iteration": pa.int64(), "time_total_s": pa.float64()}
METRICS = {"schema_version": pa.int64(), "experiment": pa.string(), "trial_id": pa.string(),
           "hypothesis": pa.string(), **RECORD_TYPES, **RECORD_EXTRA}
TRIALS = {
    "schema_version": pa.int64(), "experiment": pa.string(), "trial_id": pa.string(), "hypothesis": pa.string(),
    "config_json": pa.string(), "schedule_json": pa.string(), "schedule": pa.string(), "lr_finder_json": pa.string(),
    "status": pa.string(), "rung": pa.int64(), "point": pa.int64(),
    "final_val_acc": pa.float64(), "best_val_acc": pa.float64(), "final_val_loss": pa.float64(),
    "final_test_acc": pa.float64(), "final_test_loss": pa.float64(), "budget_used": pa.float64(),
    "examples": RECORD_TYPES["examples"], "compute": RECORD_TYPES["compute"],
    "wall_seconds": pa.float64(), "eval_seconds": pa.float64(), "time_total_s": pa.float64(),
    "pareto": pa.bool_(), "frontier_cost": pa.string(),
    "max_lr": pa.float64(), "n_records": pa.int64(), "node_id": pa.string(), "cpus": pa.float64(),
    "gpus": pa.float64(), "device": pa.string(), "started_at": pa.float64(), "ended_at": pa.float64(),
    "peak_rss_mb": pa.float64(), "pss_mb": pa.float64(), "uss_mb": pa.float64(), "anon_mb": pa.float64(),
    "error": pa.string(), "trial_number": pa.int64(), "is_control": pa.bool_()}
TABLES = {"trials": TRIALS, "metrics": METRICS}


def schema_for(frame: pd.DataFrame, table: str) -> pa.Schema:
    """The schema `frame` is written with: its columns in order, declared ones typed by TABLES,
    the rest as their values are; the table's name and schema version in the metadata."""
    declared = TABLES[table]
    inferred = pa.Schema.from_pandas(frame, preserve_index=False)
    fields = [pa.field(name, declared.get(name, inferred.field(name).type)) for name in frame.columns]
    return pa.schema(fields, metadata={METADATA_KEY: str(SCHEMA_VERSION).encode(), b"tune_growth.table": table.encode()})


def to_arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    """`frame` as an Arrow table of its schema (schema_for)."""
    return pa.Table.from_pandas(frame, schema=schema_for(frame, table), preserve_index=False)


def schema_markdown() -> str:
    """The declared columns of each table and their Arrow types, as Markdown: docs/results.md holds
    this text between its schema markers, and a test holds it to this function's output."""
    parts = [f"Schema version {SCHEMA_VERSION} (also in each file's metadata, `{METADATA_KEY.decode()}`). Declared "
             "columns, typed even when every value is null; `param_<name>` (one per config key) and the targets' "
             "`examples_to_T`, `compute_to_T`, `seconds_to_T` keep their values' types.\n"]
    for table, columns in TABLES.items():
        rows = "\n".join(f"| `{name}` | {dtype} |" for name, dtype in columns.items())
        parts.append(f"### {table}.parquet\n\n| column | Arrow type |\n| --- | --- |\n{rows}\n")
    return "\n".join(parts)
