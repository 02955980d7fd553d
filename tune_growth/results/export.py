"""Export a search's results to Parquet: `python -m tune_growth.results EXPERIMENT_DIR`.

Reads only what Ray Tune writes as JSON (each trial folder's result.json and the experiment state),
so it works on a running or a finished experiment, as often as wanted, and writes atomically:

  trials.parquet   one row per trial (schema below, SCHEMA_VERSION)
  metrics.parquet  one row per reported evaluation record

Schema version 2 (version 1 selected on the test split: `check_schema` refuses it in one line).
Searches select on the validation split; a trial evaluates the test split once, at its end.

trials.parquet columns: schema_version, experiment, trial_id, trial_number, hypothesis, is_control,
config_json, param_<name> for each config key, schedule_json, schedule (describe()), lr_finder_json
(the LR range test's lrs, losses, suggestions, rule and max_lr when max_lr was "find"), status
(completed, screened: complete at a budget rung below the search's budget, stopped, diverged,
errored, running), rung and point (a budget-ladder search's rung, 0 first, and the trial number of
the configuration's first run; null in other searches), final_val_acc, best_val_acc, final_val_loss (the
selection metrics), final_test_acc, final_test_loss (the test split, evaluated once at the end of a
trial that ran to the end; null for a stopped trial), budget_used, examples, compute, wall_seconds
(training only), eval_seconds (evaluation, checkpoints, reports), time_total_s, max_lr, n_records, node_id, cpus, gpus
and device (what Ray gave the trial and where it trained: GPUs fractional when trials share one), started_at and
ended_at (unix seconds of the trial's start and last report), peak_rss_mb (the trial process's peak
resident memory), pss_mb, uss_mb and anon_mb (its proportional, private and anonymous memory at the last report),
error, and for each
target accuracy T: examples_to_T, compute_to_T, seconds_to_T (the first record whose validation
accuracy reached T; null when none did).

metrics.parquet columns: schema_version, experiment, trial_id, hypothesis, then RECORD_COLUMNS (the
trainer's record fields, records.py, plus budget_used, training_iteration, time_total_s).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from tune_growth.io import atomic_write_parquet
from tune_growth.train.records import RECORD_FIELDS, first_reaching

SCHEMA_VERSION = 2
TARGETS = (0.9, 0.95, 0.97, 0.98)
# The trainer's record (train.records.Record), then what the trial and Tune add to it.
RECORD_COLUMNS = (*RECORD_FIELDS, "budget_used", "training_iteration", "time_total_s")


class SchemaError(ValueError):
    """Results written by another schema version: the one-line message says what to do."""


def check_schema(frame: pd.DataFrame, where: str | Path) -> pd.DataFrame:
    """`frame` if its schema_version is this one's; else a one-line SchemaError."""
    versions = sorted(set(frame["schema_version"].dropna().astype(int))) if "schema_version" in frame else []
    if versions and versions != [SCHEMA_VERSION]:
        raise SchemaError(f"{str(where)!r} has schema version {versions[0]} (version 1 selected schedules on the test "
                          f"split); expected version {SCHEMA_VERSION}: re-run the search")
    return frame


def _tune_statuses(exp_dir: Path) -> dict[str, str]:
    """trial_id -> Tune's own status (RUNNING, TERMINATED, ERROR, PENDING) from the newest state file."""
    states = sorted(exp_dir.glob("experiment_state-*.json"))  # by session start time: see searcher_state
    if not states:
        return {}
    try:
        data = json.loads(states[-1].read_text())
    except json.JSONDecodeError:  # being rewritten right now: treat every trial as unknown
        return {}
    out = {}
    for item in data.get("trial_data", []):
        trial = json.loads(item[0] if isinstance(item, list) else item)
        out[trial["trial_id"]] = trial.get("status", "")
    return out


def searcher_state(exp_dir: str | Path) -> dict:
    """The searcher's newest saved state (JSON; see search/searcher.py). A resumed experiment has
    one file per session, named by the session's start time (YYYY-MM-DD_HH-MM-SS), so the name
    orders them; modification times do not (Ray rewrites the old session's files on resume).
    {} when none is readable."""
    states = sorted(Path(exp_dir).glob("searcher-state-*"))
    try:
        return json.loads(states[-1].read_text()) if states else {}
    except (json.JSONDecodeError, UnicodeDecodeError):  # being rewritten right now
        return {}


def frozen_trial(entry: dict):
    """One searcher-history entry (params, JSON distributions, state, value, intermediate values)
    as an Optuna FrozenTrial."""
    import optuna
    from optuna.distributions import json_to_distribution

    state = optuna.trial.TrialState[entry["state"]]
    return optuna.trial.create_trial(
        state=state, value=entry["value"] if state == optuna.trial.TrialState.COMPLETE else None,
        params=entry["params"], distributions={k: json_to_distribution(v) for k, v in entry["distributions"].items()},
        intermediate_values={int(s): v for s, v in entry["intermediate"].items()})


def ladder_points(history: list[dict]) -> list[dict]:
    """A budget-ladder search's history (search/ladder.py: one entry per run, runs of one
    configuration sharing a `point`) as one entry per configuration: COMPLETE with its value at the
    top rung once it ran there; FAIL if a run of it failed; RUNNING while one runs; else PRUNED,
    its value at each rung it finished as intermediate values keyed by the rung. Entries without a
    point (other searches, the control) pass unchanged."""
    groups: dict[int, list[dict]] = {}
    out: list[dict] = []
    for entry in history:
        if entry["control"] or "point" not in entry:
            out.append(entry)
        else:
            if entry["point"] not in groups:
                groups[entry["point"]] = []
                out.append(groups[entry["point"]])  # a placeholder, filled below, in first-run order
            groups[entry["point"]].append(entry)
    return [e if isinstance(e, dict) else _point(e) for e in out]


def _point(runs: list[dict]) -> dict:
    first, top = runs[0], runs[0]["config"]["rungs"] - 1
    states = {r["state"] for r in runs}
    done = {r["rung"]: r["value"] for r in runs if r["state"] == "COMPLETE"}
    state = ("RUNNING" if "RUNNING" in states else "COMPLETE" if top in done else "FAIL" if "FAIL" in states
             else "PRUNED")
    return {"trial_id": first["trial_id"], "params": first["params"], "distributions": first["distributions"],
            "config": first["config"], "control": False, "state": state,
            "value": done.get(top) if state == "COMPLETE" else None,
            "intermediate": {str(r): v for r, v in done.items()}}


def optuna_study(history: list[dict], mode: str, sampler=None):
    """The space's finished trials (controls left out) as an Optuna study, e.g. for
    optuna.importance. `sampler` seeds what the study will suggest next, if anything."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize", sampler=sampler)
    points = ladder_points(history)
    study.add_trials([frozen_trial(e) for e in points if not e["control"] and e["state"] != "RUNNING"])
    return study


def _suggestion_order(exp_dir: Path) -> dict[str, int]:
    """trial_id -> position in the searcher's suggestion order."""
    return {entry["trial_id"]: i for i, entry in enumerate(searcher_state(exp_dir).get("history", []))}


def _read_records(trial_dir: Path) -> list[dict]:
    """result.json lines, deduplicated by step (a resumed trial re-reports steps after its checkpoint)."""
    path = trial_dir / "result.json"
    if not path.is_file():
        return []
    by_step: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line being written now
            continue
        if "step" in row:
            by_step[int(row["step"])] = row
    return [by_step[s] for s in sorted(by_step)]


def _resources(records: list[dict]) -> dict:
    """The CPUs and GPUs Ray gave the trial and its training device, from its first record (None
    for trials exported before they were recorded)."""
    first = next((r for r in records if "gpus" in r), {})
    return {"cpus": first.get("cpus"), "gpus": first.get("gpus"), "device": first.get("device")}


def trial_status(records: list[dict], tune_status: str, errored: bool, config: dict) -> str:
    """A trial's status from its records, Tune's status and its config (the Parquet export's, and
    the live progress line's). completed: the schedule ran to the end of the search's budget; screened: it ran to the end
    of a smaller one (a budget rung below the top: search/ladder.py), so it is never "the best"."""
    last = records[-1] if records else {}
    if last.get("status") == "diverged":
        return "diverged"
    if last.get("finished"):
        return "screened" if config.get("rung", 0) < config.get("rungs", 1) - 1 else "completed"
    if tune_status == "ERROR" or (errored and tune_status != "RUNNING"):
        return "errored"
    if tune_status in ("RUNNING", "PENDING", "PAUSED"):
        return "running"
    return "stopped"


def read_experiment(exp_dir: str | Path, targets=TARGETS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, metrics) DataFrames for an experiment folder."""
    exp_dir = Path(exp_dir)
    statuses, order = _tune_statuses(exp_dir), _suggestion_order(exp_dir)
    trials, metrics = [], []
    for trial_dir in sorted(p for p in exp_dir.iterdir() if p.is_dir() and (p / "params.json").is_file()):
        config = json.loads((trial_dir / "params.json").read_text())
        records = _read_records(trial_dir)
        if records and "val_acc" not in records[-1]:
            raise SchemaError(f"{str(trial_dir)!r} was written by a search of schema version 1 (it selected on the "
                              f"test split); expected version {SCHEMA_VERSION}: re-run the search")
        trial_id = records[0]["trial_id"] if records else trial_dir.name.removeprefix("trial_")
        error_file = trial_dir / "error.txt"
        error = error_file.read_text().strip().splitlines()[-1] if error_file.is_file() else None
        last = records[-1] if records else {}
        schedule_json = next((r["schedule_json"] for r in records if "schedule_json" in r), None)
        lr_finder_json = next((r["lr_finder_json"] for r in records if "lr_finder_json" in r), None)
        row = {"schema_version": SCHEMA_VERSION, "experiment": exp_dir.name, "trial_id": trial_id,
               "hypothesis": config.get("hypothesis"), "config_json": json.dumps(config, sort_keys=True),
               **{f"param_{k}": v for k, v in config.items()},
               "schedule_json": schedule_json, "schedule": last.get("schedule"), "lr_finder_json": lr_finder_json,
               "status": trial_status(records, statuses.get(trial_id, ""), error is not None, config),
               "rung": config.get("rung"), "point": config.get("point"),
               "final_val_acc": last.get("val_acc"),
               "best_val_acc": max((r["val_acc"] for r in records if r.get("val_acc") is not None), default=None),
               "final_val_loss": last.get("val_loss"), "final_test_acc": last.get("test_acc"),
               "final_test_loss": last.get("test_loss"), "budget_used": last.get("budget_used"),
               "examples": last.get("examples"), "compute": last.get("compute"), "wall_seconds": last.get("wall_seconds"),
               "eval_seconds": last.get("eval_seconds"),
               "time_total_s": last.get("time_total_s"), "max_lr": last.get("max_lr"), "n_records": len(records),
               "node_id": last.get("node_id"), **_resources(records), "started_at": records[0].get("started_at") if records else None,
               "ended_at": last.get("reported_at"), "peak_rss_mb": max((r.get("peak_rss_mb", 0) for r in records), default=None),
               "pss_mb": last.get("pss_mb"), "uss_mb": last.get("uss_mb"), "anon_mb": last.get("anon_mb"),
               "error": error, "order": order.get(trial_id, len(order)),
               "started": min((r.get("timestamp", 0) for r in records), default=None)}
        for t in targets:
            hit = first_reaching(records, t, "val_acc")
            for column, key in (("examples", "examples"), ("compute", "compute"), ("seconds", "wall_seconds")):
                row[f"{column}_to_{t}"] = None if hit is None else hit[key]
        trials.append(row)
        for r in records:
            metrics.append({"schema_version": SCHEMA_VERSION, "experiment": exp_dir.name, "trial_id": trial_id,
                            "hypothesis": config.get("hypothesis"), **{k: r.get(k) for k in RECORD_COLUMNS}})
    trials_df = pd.DataFrame(trials)
    if len(trials_df):  # trial_number: the searcher's suggestion order (the baseline control first)
        trials_df = trials_df.sort_values(["order", "started", "trial_id"], kind="stable").reset_index(drop=True)
        trials_df["trial_number"] = range(len(trials_df))
        trials_df["is_control"] = trials_df["trial_number"].eq(0) & trials_df["hypothesis"].eq("baseline")
        trials_df = trials_df.drop(columns=["order", "started"])
    return trials_df, pd.DataFrame(metrics, columns=["schema_version", "experiment", "trial_id", "hypothesis",
                                                     *RECORD_COLUMNS])


def export(exp_dir: str | Path, targets=TARGETS) -> tuple[Path, Path]:
    """Write EXP_DIR/trials.parquet and EXP_DIR/metrics.parquet atomically; return their paths."""
    exp_dir = Path(exp_dir)
    trials, metrics = read_experiment(exp_dir, targets)
    return (atomic_write_parquet(exp_dir / "trials.parquet", trials),
            atomic_write_parquet(exp_dir / "metrics.parquet", metrics))


def main(argv: list[str] | None = None) -> int:
    from tune_growth.cli import OneLineParser, fail

    parser = OneLineParser(prog="python -m tune_growth.results", description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path, help="an experiment folder (<storage>/<name>)")
    args = parser.parse_args(argv)
    if not args.experiment.is_dir():
        return fail(f"experiment folder {str(args.experiment)!r} does not exist; expected <storage>/<name>")
    trials_path, metrics_path = export(args.experiment)
    print(f"wrote {trials_path} and {metrics_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
