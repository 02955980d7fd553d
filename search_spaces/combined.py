"""Combinations: which axes grow together (H1+H3, H2+H3, H1+H2, all three), each axis's
parameters asked only when that axis is chosen (define-by-run)."""

from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401
from tune_growth.search.spaces import h1
from tune_growth.search.spaces._common import stage_shares, training_knobs

FIXED = {"hypothesis": "h1+h2+h3", "crop_pad": 2, "h2_order": "coarse_to_fine"}
PHASE_START = 0.4


def space(trial):
    hypothesis = trial.suggest_categorical("hypothesis", ["h1+h3", "h2+h3", "h1+h2", "h1+h2+h3"])
    stage_shares(trial, PHASE_START)
    if "h1" in hypothesis:
        trial.suggest_int("h1_start", 1, 20, log=True)
        trial.suggest_float("h1_growth", 2.0, 20.0, log=True)
        trial.suggest_categorical("h1_selection", h1.SELECTIONS)
    if "h2" in hypothesis:
        trial.suggest_int("h2_start", 2, 5)
    if "h3" in hypothesis:
        trial.suggest_float("h3_start", 0.3, 0.8)
    training_knobs(trial)
