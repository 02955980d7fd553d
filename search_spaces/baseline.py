"""Baseline: one stage, all data, full size. Tunes what the growing spaces tune too (LR multiplier
on the LR finder's suggestion, policy, weight decay, label smoothing), so the comparison is against
a tuned baseline with the same budget."""

FIXED = {"hypothesis": "baseline", "crop_pad": 2}
METRIC, MODE = "val_acc", "max"
DATASET, MODEL = "mnist5k", "lenet5"
BUDGET_EPOCHS = 20.0      # epochs of the full training set, every trial
NUM_TRIALS = 32
PHASE_START = 0.25        # no growing stages: ASHA's first rung at a quarter of the budget


def space(trial):
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
    trial.suggest_categorical("lr_policy", ["onecycle", "linear"])
    trial.suggest_float("weight_decay", 1e-5, 2e-3, log=True)
    trial.suggest_float("label_smoothing", 0.0, 0.2)
