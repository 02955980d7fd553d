"""What the shipped spaces share, so the hypotheses and their controls are searched on equal
terms: the selection metric, the default dataset and model, the budget and the number of
trials, the parameters every growing schedule tunes and the training knobs every space tunes
(asked in the same order everywhere, so a sampler's seed draws alike across spaces)."""

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


LR_POLICIES = ["onecycle", "linear"]  # one-cycle (Smith 2018) and linear decay to zero (Li et al. 2020)
# The training knobs, the same in every space: a comparison of schedules is then never a
# comparison of knobs (tests/test_search_spaces.py fails if one space tunes a knob another does not).
TRAINING_KNOBS = ("lr_mult", "lr_policy", "weight_decay", "label_smoothing")


def training_knobs(trial, lr_policies=LR_POLICIES):
    """The LR multiplier on the LR finder's suggestion, the LR policy, weight decay and label
    smoothing, asked last in every space (so a seeded sampler's draws for them line up across
    spaces of equal length). `lr_policies=()`: the recipe's stages set their own policies
    (fine-tuning's SGDR restarts), so the run-wide one is not a knob there."""
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
    if lr_policies:
        trial.suggest_categorical("lr_policy", list(lr_policies))
    trial.suggest_float("weight_decay", 1e-5, 2e-3, log=True)
    trial.suggest_float("label_smoothing", 0.0, 0.2)
