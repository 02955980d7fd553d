"""Baseline: one stage, all data, full size. Tunes exactly the training knobs every growing space
tunes (_common.training_knobs: LR multiplier on the LR finder's suggestion, LR policy, weight decay,
label smoothing), so the comparison is against a baseline tuned as they are, at the same budget."""

from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401
from tune_growth.search.spaces._common import training_knobs

FIXED = {"hypothesis": "baseline", "crop_pad": 2}
PHASE_START = 0.25  # no growing stages: ASHA's first rung at a quarter of the budget


def space(trial):
    training_knobs(trial)
