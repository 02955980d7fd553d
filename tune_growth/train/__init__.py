"""Training one schedule. The loop is trainer.py; its parts are the run's settings (config.py),
the counters (counters.py), the frozen prefix and its activation caches (frozen.py, over
precompute.py), each stage's LR and the policy (stage_lr.py, over lr_finder.py), the stage loss
(loss.py), evaluation (evaluation.py) and checkpoints (checkpoint.py). records.py is the record
schema every reader uses; device.py the device and precision policy; cli.py the single-run CLI
(`python -m tune_growth.train`). May import data/, models/ and schedule/; never Ray (the trainer
runs and is tested without it)."""
