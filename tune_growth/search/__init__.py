"""The search: Ray Tune + Optuna (TPE) + ASHA over stage schedules. Only this package and
tune_growth.trial import Ray."""
