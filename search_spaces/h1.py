"""H1: grow the examples per class (1 -> 10 -> 100 -> all), the first ones perhaps the most iconic."""

FIXED = {"hypothesis": "h1", "crop_pad": 2}
METRIC, MODE = "val_acc", "max"
DATASET, MODEL = "mnist5k", "lenet5"
BUDGET_EPOCHS = 20.0
NUM_TRIALS = 32
PHASE_START = 0.4         # the largest early_share below: every schedule is on all data by then


def space(trial):
    trial.suggest_int("stages", 2, 4)
    trial.suggest_float("early_share", 0.05, PHASE_START)
    trial.suggest_float("share_growth", 1.0, 4.0)
    trial.suggest_int("h1_start", 1, 20, log=True)
    trial.suggest_float("h1_growth", 2.0, 20.0, log=True)
    trial.suggest_categorical("h1_selection", ["iconic", "diverse", "random"])
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
