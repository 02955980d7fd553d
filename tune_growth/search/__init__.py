"""The search: Ray Tune + Optuna (TPE) + ASHA over stage schedules. Only this package, study/ and
tune_growth.trial import Ray."""
