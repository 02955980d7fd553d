"""tune_growth: search staged training schedules for image classifiers.

The packages, in the order data flows through them (each imports only from those before it):
data/ (datasets, splits, augmentation) -> models/ -> schedule/ (schedules, builders, selection)
-> train/ (the trainer and its parts, the single-run CLI) -> search/ (trial, searcher, scheduler,
spaces; Ray) -> results/ (Parquet) -> analysis/ (plots, report) and study/ (Ray). Shared by all:
io.py (atomic writes), cache.py (content-keyed disk caches) and cli.py (one-line errors). Only
search/ and study/ import Ray; everything before them runs and is tested without it.
"""

__version__ = "0.1.0"
