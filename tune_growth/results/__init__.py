"""Results as Parquet: a search's trial folders exported to trials.parquet and metrics.parquet
(export.py, schema version 2; `python -m tune_growth.results DIR`), read back without writing
anything (load.py), a trial's status (status.py), the accuracy-cost front and its hypervolume
(frontier.py), and the answers `--fastest-to` / `--best-within` give from a search's trials
(answers.py). Reads the JSON files Ray Tune and the
searcher wrote, so it imports nothing from Ray or from search/; may import train.records for the
record's fields and schedule.controls for which trial is the control."""
