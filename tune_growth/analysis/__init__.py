"""Reading results: plots as functions from the Parquet tables to figures (plots.py), plots of a
trained model from its checkpoint (model_plots.py), the self-contained HTML report (report.py;
`python -m tune_growth.analysis RESULTS`) and the one Markdown table writer (tables.py). May
import results/ and, for the model plots, data/, models/ and schedule/; never Ray."""
