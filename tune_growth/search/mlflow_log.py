"""MLflow tracking of a search (`--mlflow [URI]`): one MLflow run per trial, under an experiment
named after the search, with the trial's config as parameters, every record's metrics against
examples seen (the budget's unit, as TensorBoard's), and its final figures and status when it ends.

Why not Ray Tune's MLflowLoggerCallback: it logs every reported number against Tune's iteration
counter, where a stage boundary and an evaluation look alike, and opens runs through MLflow's
fluent API, one active run per process, while a search has several trials running at once. This
callback uses MlflowClient, one run per trial. The default store is a SQLite file in the results
folder (`sqlite:///<storage>/mlflow.db`): MLflow 3 keeps its plain-file store in maintenance mode.
`mlflow ui --backend-store-uri sqlite:///results/mlflow.db` (full `mlflow`) shows it.
"""

from __future__ import annotations

import json
import math

import pandas as pd
from ray.tune import Callback

# record field -> MLflow metric key, logged at every record
METRICS = ("val_acc", "val_loss", "val_acc_seen", "test_acc", "test_loss", "train_loss", "lr", "image_size", "stage",
           "classes_seen", "budget_used", "wall_seconds", "compute")
FINAL = ("val_acc", "val_loss", "test_acc", "test_loss", "examples", "compute", "wall_seconds", "budget_used")


def client(uri: str):
    """An MlflowClient for `uri`; a one-line error when MLflow is not installed."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ValueError("--mlflow needs MLflow; expected it installed: pip install -e '.[mlflow]'") from None
    return MlflowClient(uri)


def experiment_id(mlflow_client, name: str) -> str:
    """The MLflow experiment `name`, created when it does not exist yet (a resumed search reuses it)."""
    found = mlflow_client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else mlflow_client.create_experiment(name)


def _finite(values: dict) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and math.isfinite(v)}


class MlflowTrials(Callback):
    """A Tune callback logging each trial as an MLflow run (see the module docstring)."""

    def __init__(self, uri: str, experiment: str) -> None:
        self.uri, self.experiment = uri, experiment
        self.runs: dict[str, str] = {}  # trial id -> MLflow run id
        self._client = None

    def __getstate__(self) -> dict:  # Tune pickles its callbacks; a client holds a database engine
        return {**self.__dict__, "_client": None}

    @property
    def mlflow(self):
        if self._client is None:
            self._client = client(self.uri)
            self._experiment_id = experiment_id(self._client, self.experiment)
        return self._client

    def _run(self, trial) -> str:
        if trial.trial_id not in self.runs:
            run = self.mlflow.create_run(self._experiment_id, run_name=f"trial_{trial.trial_id}",
                                         tags={"trial_id": trial.trial_id,
                                               "hypothesis": str(trial.config.get("hypothesis"))})
            self.runs[trial.trial_id] = run.info.run_id
            for key, value in sorted(trial.config.items()):  # what the trial was given: its config
                self.mlflow.log_param(run.info.run_id, key, value)
        return self.runs[trial.trial_id]

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._run(trial)

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        run, step = self._run(trial), int(result.get("examples", 0))
        for key, value in _finite({k: result.get(k) for k in METRICS}).items():
            self.mlflow.log_metric(run, key, value, step=step)

    def _end(self, trial, status: str) -> None:
        run, last = self._run(trial), trial.last_result or {}
        for key, value in _finite({k: last.get(k) for k in FINAL}).items():
            self.mlflow.log_metric(run, f"final_{key}", value)
        self.mlflow.set_tag(run, "status", last.get("status", "errored" if status == "FAILED" else ""))
        self.mlflow.set_terminated(run, status)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._end(trial, "FINISHED")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._end(trial, "FAILED")


def log_study_runs(uri: str, experiment: str, runs: pd.DataFrame) -> int:
    """A study's runs (runs_table rows) as MLflow runs under `experiment`: each with its label,
    hypothesis, budget, seed and schedule as parameters, its final figures, and its test accuracy
    at every record against compute (the curve); runs logged before (a resumed study) are skipped.
    Returns how many were logged now."""
    mlflow = client(uri)
    exp = experiment_id(mlflow, experiment)
    done = {r.data.tags.get("study_run") for r in mlflow.search_runs([exp], max_results=50_000)}
    logged = 0
    for row in runs.itertuples():
        key = f"{row.label}|{row.budget:g}|{row.seed}"
        if key in done:
            continue
        run = mlflow.create_run(exp, run_name=key, tags={"study_run": key, "hypothesis": row.hypothesis}).info.run_id
        for name in ("label", "hypothesis", "budget", "seed", "schedule"):
            mlflow.log_param(run, name, getattr(row, name))
        for name, value in _finite({k: getattr(row, k) for k in ("final_test_acc", "final_val_acc", "compute",
                                                                 "wall_seconds", "examples")}).items():
            mlflow.log_metric(run, name, value)
        for compute, _, acc in json.loads(row.curve_json):
            if acc is not None:
                mlflow.log_metric(run, "test_acc", float(acc), step=int(compute))
        mlflow.set_terminated(run, "FINISHED")
        logged += 1
    return logged
