"""tune_growth: search staged training schedules for image classifiers.

Data flows one way: dataset -> schedule -> trainer -> trial -> search -> Parquet -> plots.
Only `trial` and `search` import Ray.
"""

__version__ = "0.1.0"
