"""The search: Ray Tune + Optuna (TPE) + ASHA over stage schedules: the trial trainable around the
trainer (trial.py), the searcher, the phase-aligned scheduler, the space loader and the shipped spaces (spaces/), the run and the CLI
(`python -m tune_growth.search`). With study/, the only packages that import Ray."""
