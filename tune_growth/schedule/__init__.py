"""Schedules as data: Schedule and Stage (core.py), LR policies (lr_policy.py), the builders that
turn flat search parameters into a schedule for a dataset (builders.py), and which examples and
classes come first (selection.py). May import data/ and the shared cache; never the trainer, Ray
or anything after it in the flow."""
