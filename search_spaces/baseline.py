"""Baseline: one stage, all data, full size. Tunes what the growing spaces tune too (LR multiplier
on the LR finder's suggestion, policy, weight decay, label smoothing), so the comparison is against
a tuned baseline with the same budget."""

from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401
from tune_growth.search.spaces._common import lr_mult

FIXED = {"hypothesis": "baseline", "crop_pad": 2}
PHASE_START = 0.25  # no growing stages: ASHA's first rung at a quarter of the budget


def space(trial):
    lr_mult(trial)
    trial.suggest_categorical("lr_policy", ["onecycle", "linear"])
    trial.suggest_float("weight_decay", 1e-5, 2e-3, log=True)
    trial.suggest_float("label_smoothing", 0.0, 0.2)
