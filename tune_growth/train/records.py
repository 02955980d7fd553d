"""What the trainer's evaluation records hold, and the questions every reader asks of them.

A record (`Record`) is one evaluation: counters, the stage, the LR, and for each split s in
("val", "test") the fields s_loss, s_acc, s_loss_seen, s_acc_seen, which are None when that split
was not evaluated at that record (the monitored split is evaluated at every record; the other at
the last one). `wall_seconds` is training time only; `eval_seconds` the time spent outside
training (evaluation, checkpoints, reports) up to that record. The results export, the report
and the study read these fields by these names.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, TypedDict

SPLITS = ("val", "test")
METRIC_NAMES = ("loss", "acc", "loss_seen", "acc_seen")
SPLIT_COLUMNS = tuple(f"{split}_{name}" for split in SPLITS for name in METRIC_NAMES)


class Record(TypedDict):
    step: int  # optimizer steps so far
    examples: int  # training examples drawn so far
    epoch: float  # examples / training-set size
    stage: int  # the stage this record ends or falls in
    image_size: int  # px
    classes_seen: int  # classes the stage trains on
    per_class: int  # examples per class in the stage; -1 for all
    frozen_groups: int  # leading layer groups frozen in the stage
    precomputed: bool  # the stage trained on cached activations
    lr: float  # the head's LR at the last step
    train_loss: float  # mean training loss since the previous record
    val_loss: Optional[float]
    val_acc: Optional[float]
    val_loss_seen: Optional[float]  # over the stage's classes, logits restricted to them
    val_acc_seen: Optional[float]
    test_loss: Optional[float]
    test_acc: Optional[float]
    test_loss_seen: Optional[float]
    test_acc_seen: Optional[float]
    wall_seconds: float  # training seconds so far
    eval_seconds: float  # seconds outside training so far
    compute: int  # examples x pixels so far
    status: str  # running, completed or diverged
    stage_end: bool  # this record ends its stage
    finished: bool  # the last record of the run


RECORD_FIELDS = tuple(Record.__annotations__)


def first_reaching(records: Iterable[Mapping[str, Any]], target: float, metric: str = "val_acc") -> Mapping | None:
    """The first record whose `metric` (an accuracy) is at least `target`; None if none is. Records
    where the metric was not evaluated (None or missing) never count."""
    for record in records:
        value = record.get(metric)
        if value is not None and value == value and value >= target:  # value == value: not NaN
            return record
    return None
