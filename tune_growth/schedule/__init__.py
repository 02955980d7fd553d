"""Schedules as data: Schedule and Stage (core.py), LR policies (lr_policy.py), the builders that
turn flat search parameters into a schedule for a dataset (builders.py), the registry of example
rankers (rankers.py: RANKERS, one function per selection method), which examples and classes come
first (selection.py), and which arms are controls (controls.py: the one is_control). May import
data/, models/ and the shared cache; never the trainer, Ray or anything after it in the flow."""
