"""Fine-tuning, fastai's recipe as stages: head on precomputed activations -> head with
augmentation -> unfreeze with differential LRs, a fresh LR range test, SGDR with cycle_mult.

Run it from pretrained weights every node can read, e.g. a model.pt written by
`python -m tune_growth.train --model xresnet18 --width 0.5 --classes 0-4 --out pre`:
    python -m tune_growth.search finetune --classes 5-9 --pretrained pre/model.pt
The baseline control is the same pretrained model fine-tuned all at once (one unfrozen stage).
"""

from tune_growth.search.spaces._common import METRIC, MODE, training_knobs  # noqa: F401

FIXED = {"hypothesis": "finetune", "crop_pad": 2}
DATASET, MODEL, WIDTH = "mnist5k", "xresnet18", 0.5
BUDGET_EPOCHS = 10.0
NUM_TRIALS = 16
PHASE_START = 0.4         # (ft_head_epochs + ft_aug_epochs) / BUDGET_EPOCHS at most: unfrozen by then


def space(trial):
    trial.suggest_float("ft_head_epochs", 0.25, 2.0)     # epochs (of BUDGET_EPOCHS)
    trial.suggest_float("ft_aug_epochs", 0.0, 2.0)
    trial.suggest_float("ft_lr_ratio", 0.01, 1.0, log=True)
    trial.suggest_float("ft_unfreeze_lr_mult", 0.1, 30.0, log=True)  # valley is timid on some data (README)
    trial.suggest_float("ft_cycle_len", 0.5, 3.0)
    trial.suggest_float("cycle_mult", 1.0, 3.0)
    training_knobs(trial, lr_policies=())  # each stage sets its own policy (the recipe's)
