"""Training one schedule: the staged trainer (trainer.py), the LR finder, the activation cache
for frozen stages (precompute.py), the device and precision policy, the record's fields
(records.py) and the single-run CLI (`python -m tune_growth.train`, cli.py). May import data/,
models/ and schedule/; never Ray (the trainer runs and is tested without it)."""
