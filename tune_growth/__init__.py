"""tune_growth: search staged training schedules for image classifiers.

The packages, in the order data flows through them (each imports only from those before it):
data/ (datasets, splits, augmentation) -> models/ (the model registry) -> schedule/ (schedules,
builders, example rankers, controls) -> train/ (the trainer and its parts, the single-run CLI) ->
results/ (Parquet export and reading, from the files a search writes) -> search/ (trial, searcher
and its history, scheduler, the space loader; Ray; the shipped spaces install from the top-level
search_spaces/) -> analysis/ (plots, report) -> study/ (Ray). Shared by all: io.py (atomic writes),
cache.py (content-keyed disk caches) and cli.py (one-line errors, flag types). Only search/ and
study/ import Ray; everything before them runs and is tested without it.
"""

__version__ = "0.1.0"
