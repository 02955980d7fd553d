"""The study: each hypothesis's best schedule re-run over seeds beside fair controls (controls.py),
as Ray tasks (run.py), with paired effects and verdicts per budget (stats.py, verdicts.py,
effects.py, figures.py), the declared primary family decided with Holm's correction and
equivalence tests, the rest exploratory with q values (inference.py, families.py), written as
Parquet, Markdown, plots and a page (outputs.py); `python -m tune_growth.study`. Imports Ray; may
import everything before it in the flow."""

RUNS_LOG = "runs.jsonl"  # a study's finished runs, one JSON line each: what --resume reads
SELECTION_LOG = "selection.jsonl"  # the same for --reselect's re-runs of each search's candidates
