"""The fair controls, derived from the schedules under test (pure functions of a Schedule)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tune_growth.schedule.core import Schedule, Stage
from tune_growth.schedule.lr_policy import LRPolicy


def same_budget(s: Schedule, budget_epochs: float, batch_size: int, budget_unit: str | None = None) -> Schedule:
    """`s` with the study's common budget, batch size and (when given) budget unit."""
    return replace(s, budget_epochs=budget_epochs, batch_size=batch_size, budget_unit=budget_unit or s.budget_unit)


def compute_share(s: Schedule, train_size: int, full_image_size: int) -> float:
    """The compute `s` will spend (its steps' examples x pixels), as a fraction of its budget's
    worth of full-size epochs: about 1 at a compute budget, below 1 at an epoch budget where
    stages shrink the images."""
    return s.planned_compute(train_size, full_image_size) / (s.budget_epochs * train_size * full_image_size ** 2)


def equal_compute(baseline: Schedule, s: Schedule, train_size: int, full_image_size: int) -> Schedule:
    """H3's matched control: the baseline given the compute `s` will spend, so a schedule whose
    small images cost less is compared at equal compute: the whole number of full-size batches
    nearest that compute (off by at most half a step), as the budget in epochs it amounts to."""
    steps = max(1, round(s.planned_compute(train_size, full_image_size) / (baseline.batch_size * full_image_size ** 2)))
    return replace(baseline, budget_epochs=steps * baseline.batch_size / train_size, budget_unit="epochs",
                   hypothesis="baseline")


def random_order(s: Schedule) -> Schedule:
    """The random-order growing set: the same stages (classes, counts, sizes, shares) with the
    examples drawn at random (Wu, Dyer & Neyshabur 2021)."""
    return replace(s, selection="random", hypothesis="random_growing")


def class_order_of(s: Schedule) -> list[int]:
    """The order classes join in: each stage's new classes (sorted), stage by stage."""
    order: list[int] = []
    for stage in s.stages:
        order += sorted(set(stage.classes) - set(order))
    return order + sorted(set(range(s.num_classes)) - set(order))


# each example order and its reverse (rankers.py)
REVERSED = {"iconic": "anti_iconic", "anti_iconic": "iconic", "easy": "hard", "hard": "easy"}


def grows_classes(s: Schedule) -> bool:
    """Whether some stage trains a subset of the classes (H2's axis)."""
    return any(len(st.classes) < s.num_classes for st in s.stages)


def random_classes(s: Schedule, seed: int = 0) -> Schedule:
    """H2's matched control: the same stages (class counts, examples, sizes, shares) with the
    classes joining in a seeded random order instead of `s`'s (one draw per study: every seed's
    run of it shares the order, as every seed's run of `s` shares its)."""
    order = [int(c) for c in np.random.default_rng(seed).permutation(s.num_classes)]
    stages = tuple(replace(st, classes=tuple(sorted(order[:len(st.classes)]))) for st in s.stages)
    return replace(s, stages=stages, hypothesis="random_classes")


def anti_curriculum(s: Schedule) -> Schedule | None:
    """The curriculum reversed: classes join in the reverse order (most similar first, when the
    stages grow the class set), and the example ranking reversed (iconic, easy). None when the schedule
    has neither order to reverse."""
    if not grows_classes(s) and s.selection not in REVERSED:
        return None
    stages = s.stages
    if grows_classes(s):
        reverse = class_order_of(s)[::-1]
        stages = tuple(Stage(tuple(sorted(reverse[: len(st.classes)])), st.per_class, st.image_size, st.share)
                       for st in s.stages)
    selection = REVERSED.get(s.selection, s.selection)
    return replace(s, stages=stages, selection=selection, hypothesis=f"anti_{s.hypothesis}")


def budgeted(baseline: Schedule) -> Schedule:
    """The baseline with linear decay to zero over the budget (budgeted training, Li et al. 2020)."""
    return replace(baseline, lr_policy=LRPolicy("linear"), hypothesis="budgeted")
