"""The search: Ray Tune + Optuna (TPE) over stage schedules: the trial trainable around the
trainer (trial.py), the searcher and its typed history with the Optuna bridge (searcher.py,
history.py), early stopping (the phase-aligned ASHA scheduler, or successive halving over
budgets: ladder.py), the space loader (space.py; the shipped spaces live in the project's
top-level search_spaces/, installed as search/spaces), the run and the CLI
(`python -m tune_growth.search`). With study/, the only packages that import Ray."""
