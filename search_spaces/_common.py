"""What the shipped spaces share, so the hypotheses and their controls are searched on equal
terms: the selection metric, the default dataset and model, the budget and the number of
trials, and the parameters every growing schedule tunes (asked in the same order everywhere,
so a sampler's seed draws alike across spaces)."""

METRIC, MODE = "val_acc", "max"  # validation: what a search selects on
DATASET, MODEL = "mnist5k", "lenet5"  # defaults; the CLI may override
BUDGET_EPOCHS = 20.0  # epochs of the full training set, every trial
NUM_TRIALS = 32


def stage_shares(trial, phase_start):
    """How many stages, and how the budget is shared among them; every early stage has ended by
    `phase_start` (a budget fraction)."""
    trial.suggest_int("stages", 2, 4)
    trial.suggest_float("early_share", 0.05, phase_start)
    trial.suggest_float("share_growth", 1.0, 4.0)


def lr_mult(trial):
    """A multiplier on the LR finder's suggestion: every space tunes the LR this way."""
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
