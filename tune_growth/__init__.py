"""tune_growth: search staged training schedules for image classifiers.

Data flows one way: dataset -> schedule -> trainer -> trial -> search -> Parquet -> plots.
Only `trial`, `search` and `study` (the Ray drivers) import Ray; everything below them runs and is
tested without it.
"""

__version__ = "0.1.0"
