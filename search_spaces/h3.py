"""H3: progressive resizing: small images first, then larger."""

from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401
from tune_growth.search.spaces._common import stage_shares, training_knobs

FIXED = {"hypothesis": "h3", "crop_pad": 2}
PHASE_START = 0.5  # smaller images cost less, so early stages may take a larger share


def space(trial):
    stage_shares(trial, PHASE_START)
    trial.suggest_float("h3_start", 0.3, 0.8)
    training_knobs(trial)
