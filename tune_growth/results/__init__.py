"""Results as Parquet: a search's trial folders exported to trials.parquet and metrics.parquet
(export.py, schema version 2), and `python -m tune_growth.results DIR`. Reads what Ray Tune wrote as
JSON, so it imports nothing from Ray; may import train.records for the record's fields."""
