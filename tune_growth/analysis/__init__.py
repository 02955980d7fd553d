"""Reading results: plots as functions from the Parquet tables to figures (plots.py), plots of a
trained model from its checkpoint (model_plots.py), and the self-contained HTML report
(report.py; `python -m tune_growth.analysis RESULTS`). May import results/ and, for the model
plots, data/, models/ and schedule/; never Ray."""
