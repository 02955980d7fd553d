"""The study: each hypothesis's best schedule re-run over seeds beside fair controls (controls.py),
as Ray tasks (run.py), with bootstrap effects and verdicts (stats.py, effects.py) written as
Parquet, Markdown, plots and a page (outputs.py); `python -m tune_growth.study`. Imports Ray; may
import everything before it in the flow."""
