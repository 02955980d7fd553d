"""The search: Ray Tune + Optuna (TPE) over stage schedules: the trial trainable around the
trainer (trial.py), the searcher, early stopping (the phase-aligned ASHA scheduler, or successive
halving over budgets: ladder.py), the space loader and the shipped spaces (spaces/), the run and
the CLI (`python -m tune_growth.search`). With study/, the only packages that import Ray."""
