"""H2: grow the set of classes coarse to fine: very different classes first, similar ones last."""

from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401
from tune_growth.search.spaces._common import stage_shares, training_knobs

FIXED = {"hypothesis": "h2", "crop_pad": 2, "h2_order": "coarse_to_fine"}
PHASE_START = 0.4


def space(trial):
    stage_shares(trial, PHASE_START)
    trial.suggest_int("h2_start", 2, 5)
    training_knobs(trial)
