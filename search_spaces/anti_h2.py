"""Control: the anti-curriculum of H2, the most similar classes first."""

FIXED = {"hypothesis": "anti_h2", "crop_pad": 2}
METRIC, MODE = "val_acc", "max"
DATASET, MODEL = "mnist5k", "lenet5"
BUDGET_EPOCHS = 20.0
NUM_TRIALS = 32
PHASE_START = 0.4


def space(trial):
    trial.suggest_int("stages", 2, 4)
    trial.suggest_float("early_share", 0.05, PHASE_START)
    trial.suggest_float("share_growth", 1.0, 4.0)
    trial.suggest_int("h2_start", 2, 5)
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
