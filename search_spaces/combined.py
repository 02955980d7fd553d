"""Combinations: which axes grow together (H1+H3, H2+H3, H1+H2, all three), each axis's
parameters asked only when that axis is chosen (define-by-run)."""

FIXED = {"hypothesis": "h1+h2+h3", "crop_pad": 2, "h2_order": "coarse_to_fine"}
METRIC, MODE = "val_acc", "max"
DATASET, MODEL = "mnist5k", "lenet5"
BUDGET_EPOCHS = 20.0
NUM_TRIALS = 32
PHASE_START = 0.4


def space(trial):
    hypothesis = trial.suggest_categorical("hypothesis", ["h1+h3", "h2+h3", "h1+h2", "h1+h2+h3"])
    trial.suggest_int("stages", 2, 4)
    trial.suggest_float("early_share", 0.05, PHASE_START)
    trial.suggest_float("share_growth", 1.0, 4.0)
    if "h1" in hypothesis:
        trial.suggest_int("h1_start", 1, 20, log=True)
        trial.suggest_float("h1_growth", 2.0, 20.0, log=True)
        trial.suggest_categorical("h1_selection", ["iconic", "diverse", "random"])
    if "h2" in hypothesis:
        trial.suggest_int("h2_start", 2, 5)
    if "h3" in hypothesis:
        trial.suggest_float("h3_start", 0.3, 0.8)
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
