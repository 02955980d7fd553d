"""H1: grow the examples per class (1 -> 10 -> 100 -> all), the first ones perhaps the most iconic."""

from tune_growth.search.spaces._common import BUDGET_EPOCHS, DATASET, METRIC, MODE, MODEL, NUM_TRIALS  # noqa: F401
from tune_growth.search.spaces._common import stage_shares, training_knobs

FIXED = {"hypothesis": "h1", "crop_pad": 2}
PHASE_START = 0.4  # the largest early_share below: every schedule is on all data by then
SELECTIONS = ["iconic", "diverse", "easy", "hard", "random"]  # easy/hard: by a proxy model's loss


def space(trial, selections=SELECTIONS):
    """`selections`: the example orders to choose among; none for a control that fixes the order."""
    stage_shares(trial, PHASE_START)
    trial.suggest_int("h1_start", 1, 20, log=True)
    trial.suggest_float("h1_growth", 2.0, 20.0, log=True)
    if selections:
        trial.suggest_categorical("h1_selection", selections)
    training_knobs(trial)
