"""What the trainer's evaluation records hold, and the questions every reader asks of them.

A record is one evaluation (trainer.Trainer._record): counters, the stage, the LR, and for each
split s in ("val", "test") the fields s_loss, s_acc, s_loss_seen, s_acc_seen, which are None when
that split was not evaluated at that record (the monitored split is evaluated at every record;
the other at the last one). `wall_seconds` is training time only; `eval_seconds` the time spent
outside training (evaluation, checkpoints, reports) up to that record.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

SPLITS = ("val", "test")
METRIC_NAMES = ("loss", "acc", "loss_seen", "acc_seen")
SPLIT_COLUMNS = tuple(f"{split}_{name}" for split in SPLITS for name in METRIC_NAMES)


def first_reaching(records: Iterable[Mapping[str, Any]], target: float, metric: str = "val_acc") -> Mapping | None:
    """The first record whose `metric` (an accuracy) is at least `target`; None if none is. Records
    where the metric was not evaluated (None or missing) never count."""
    for record in records:
        value = record.get(metric)
        if value is not None and value == value and value >= target:  # value == value: not NaN
            return record
    return None
