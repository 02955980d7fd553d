"""H3: progressive resizing: small images first, then larger."""

FIXED = {"hypothesis": "h3", "crop_pad": 2}
METRIC, MODE = "val_acc", "max"
DATASET, MODEL = "mnist5k", "lenet5"
BUDGET_EPOCHS = 20.0
NUM_TRIALS = 32
PHASE_START = 0.5         # smaller images cost less, so early stages may take a larger share


def space(trial):
    trial.suggest_int("stages", 2, 4)
    trial.suggest_float("early_share", 0.05, PHASE_START)
    trial.suggest_float("share_growth", 1.0, 4.0)
    trial.suggest_float("h3_start", 0.3, 0.8)
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
