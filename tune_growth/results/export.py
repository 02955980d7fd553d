"""Export a search's results to Parquet and answer from them: `python -m tune_growth.results DIR`.

`--fastest-to ACC` and `--best-within COST` answer the practitioner's questions from its trials
(answers.py).

Reads only what Ray Tune writes as JSON (each trial folder's result.json and the experiment state),
so it works on a running or a finished experiment, as often as wanted, and writes atomically:

  trials.parquet   one row per trial (schema below, SCHEMA_VERSION)
  metrics.parquet  one row per reported evaluation record

Schema version 2 (version 1 selected on the test split: `check_schema` refuses it in one line); each
table's column types are declared once (schema.py) and its version is in the file's metadata.
Searches select on the validation split; a trial evaluates the test split once, at its end.

trials.parquet columns: schema_version, experiment, trial_id, trial_number, hypothesis, is_control,
config_json, param_<name> for each config key, schedule_json, schedule (describe()), lr_finder_json
(the LR range test's lrs, losses, suggestions, rule and max_lr when max_lr was "find"), status
(completed, screened: complete at a budget rung below the search's budget, stopped, diverged,
errored, running), rung and point (a budget-ladder search's rung, 0 first, and the trial number of
the configuration's first run; null in other searches), final_val_acc, best_val_acc, final_val_loss (the
selection metrics), final_test_acc, final_test_loss (the test split, evaluated once at the end of a
trial that ran to the end; null for a stopped trial), budget_used, examples, compute, wall_seconds
(training only), eval_seconds (evaluation, checkpoints, reports), time_total_s, pareto (a frontier search's
Pareto-optimal trials, results/frontier.py; null in other searches), frontier_cost (the cost a frontier
search's front is drawn against, compute or seconds; null in other searches), max_lr, n_records, node_id, cpus, gpus
and device (what Ray gave the trial and where it trained: GPUs fractional when trials share one), started_at and
ended_at (unix seconds of the trial's start and last report), peak_rss_mb (the trial process's peak
resident memory), pss_mb, uss_mb and anon_mb (its proportional, private and anonymous memory at the last report),
error, and for each
target accuracy T: examples_to_T, compute_to_T, seconds_to_T (the first record whose validation
accuracy reached T; null when none did).

metrics.parquet columns: schema_version, experiment, trial_id, hypothesis, then RECORD_COLUMNS (the
trainer's record fields, records.py, plus budget_used, training_iteration, time_total_s).

schedules/<trial_id>.json: each trial's schedule, as `tune-growth train --schedule` reads it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tune_growth.io import atomic_write, atomic_write_text
from tune_growth.results.frontier import COST_WORDS, COSTS, front_trials, pareto_mask
from tune_growth.results.schema import SCHEMA_VERSION, to_arrow
from tune_growth.results.status import screened, trial_status
from tune_growth.schedule.controls import is_control
from tune_growth.train.records import RECORD_FIELDS, first_reaching

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


def search_record(exp_dir: str | Path) -> dict:
    """The experiment's search.json (search/run.py: describe_search); {} where it has none."""
    path = Path(exp_dir) / "search.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def _screening_budget(search: dict) -> float | None:
    """The budget in epochs against which a budget-ladder search's runs are screened; None for
    other searches (a frontier search's runs differ in budget by design, and screen nothing) and
    where the folder has no search.json."""
    if search.get("stopping", "budgets") != "budgets" or search.get("objective") == "frontier":
        return None
    try:
        return float(search["budget_epochs"])
    except (KeyError, TypeError, ValueError):
        return None


def _pareto(trials: pd.DataFrame, search: dict) -> list:
    """The pareto column: a frontier search's optimal trials among those forming its front
    (results/frontier.py); null for every trial of other searches."""
    if search.get("objective") != "frontier" or not len(trials):
        return [None] * len(trials)
    counted = front_trials(trials).to_numpy()
    cost = trials[COSTS[search["cost"]]].astype(float).to_numpy()
    acc = trials["final_val_acc"].astype(float).to_numpy()
    optimal = pareto_mask(np.where(counted, acc, np.nan), cost)
    return list(optimal)


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


def _ladder_fields(entry: dict, config: dict) -> dict:
    """A budget ladder's rung and point for a run, from its searcher-history entry (older searches
    kept them in the trial config); the control is no run of a point, so it has neither."""
    if entry.get("control"):
        return {"rung": None, "point": None}
    return {k: entry.get(k, config.get(k)) for k in ("rung", "point")}


def _reached(records: list[dict], targets) -> dict:
    """examples_to_T, compute_to_T, seconds_to_T: the first record whose validation accuracy reached T."""
    row = {}
    for t in targets:
        hit = first_reaching(records, t, "val_acc")
        for column, key in (("examples", "examples"), ("compute", "compute"), ("seconds", "wall_seconds")):
            row[f"{column}_to_{t}"] = None if hit is None else hit[key]
    return row


def _trial_row(trial_dir: Path, trial_id: str, records: list[dict], config: dict, tune_status: str, entry: dict,
               budget: float | None) -> dict:
    """One trials.parquet row (without trial_number and is_control, which need every trial)."""
    error_file = trial_dir / "error.txt"
    error = error_file.read_text().strip().splitlines()[-1] if error_file.is_file() else None
    last = records[-1] if records else {}
    return {"schema_version": SCHEMA_VERSION, "experiment": trial_dir.parent.name, "trial_id": trial_id,
            "hypothesis": config.get("hypothesis"), "config_json": json.dumps(config, sort_keys=True),
            **{f"param_{k}": v for k, v in config.items()},
            "schedule_json": next((r["schedule_json"] for r in records if "schedule_json" in r), None),
            "schedule": last.get("schedule"),
            "lr_finder_json": next((r["lr_finder_json"] for r in records if "lr_finder_json" in r), None),
            "status": trial_status(records, tune_status, error is not None, screened(config.get("budget_epochs"), budget)),
            **_ladder_fields(entry, config),
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
            "error": error}


def read_experiment(exp_dir: str | Path, targets=TARGETS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, metrics) DataFrames for an experiment folder."""
    exp_dir = Path(exp_dir)
    statuses, history = _tune_statuses(exp_dir), searcher_state(exp_dir).get("history", [])
    # the searcher's history (search/history.py, saved as JSON): suggestion order, and a budget
    # ladder's rung and point per run
    order = {entry["trial_id"]: i for i, entry in enumerate(history)}
    search = search_record(exp_dir)
    by_id, budget = {entry["trial_id"]: entry for entry in history}, _screening_budget(search)
    trials, metrics = [], []
    for trial_dir in sorted(p for p in exp_dir.iterdir() if p.is_dir() and (p / "params.json").is_file()):
        config = json.loads((trial_dir / "params.json").read_text())
        records = _read_records(trial_dir)
        if records and "val_acc" not in records[-1]:
            raise SchemaError(f"{str(trial_dir)!r} was written by a search of schema version 1 (it selected on the "
                              f"test split); expected version {SCHEMA_VERSION}: re-run the search")
        trial_id = records[0]["trial_id"] if records else trial_dir.name.removeprefix("trial_")
        row = _trial_row(trial_dir, trial_id, records, config, statuses.get(trial_id, ""), by_id.get(trial_id, {}), budget)
        trials.append({**row, "order": order.get(trial_id, len(order)),
                       "started": min((r.get("timestamp", 0) for r in records), default=None), **_reached(records, targets)})
        for r in records:
            metrics.append({"schema_version": SCHEMA_VERSION, "experiment": exp_dir.name, "trial_id": trial_id,
                            "hypothesis": config.get("hypothesis"), **{k: r.get(k) for k in RECORD_COLUMNS}})
    trials_df = pd.DataFrame(trials)
    if len(trials_df):  # trial_number: the searcher's suggestion order (the baseline control first)
        trials_df = trials_df.sort_values(["order", "started", "trial_id"], kind="stable").reset_index(drop=True)
        trials_df["trial_number"] = range(len(trials_df))
        trials_df["is_control"] = [is_control(h, trial_number=n) for h, n in
                                   zip(trials_df["hypothesis"], trials_df["trial_number"])]
        trials_df = trials_df.drop(columns=["order", "started"])
        at = trials_df.columns.get_loc("time_total_s") + 1
        trials_df.insert(at, "pareto", _pareto(trials_df, search))
        trials_df.insert(at + 1, "frontier_cost", search.get("cost") if search.get("objective") == "frontier" else None)
    return trials_df, pd.DataFrame(metrics, columns=["schema_version", "experiment", "trial_id", "hypothesis",
                                                     *RECORD_COLUMNS])


def write_table(path: Path, frame: pd.DataFrame, table: str) -> Path:
    """Write `frame` as Parquet with its table's schema (schema.py), atomically."""
    return atomic_write(path, lambda tmp: pq.write_table(to_arrow(frame, table), tmp))


def write_schedules(exp_dir: Path, trials: pd.DataFrame) -> None:
    """EXP_DIR/schedules/<trial_id>.json for every trial that reported its schedule, each written
    atomically (unchanged files are left as they are)."""
    for trial_id, text in zip(trials.get("trial_id", []), trials.get("schedule_json", [])):
        path = schedule_path(exp_dir, trial_id)
        if isinstance(text, str) and not (path.is_file() and path.read_text() == text):
            atomic_write_text(path, text)


def schedule_path(exp_dir: str | Path, trial_id: str) -> Path:
    """Where a trial's schedule JSON is written (write_schedules)."""
    return Path(exp_dir) / "schedules" / f"{trial_id}.json"


def export(exp_dir: str | Path, targets=TARGETS) -> tuple[Path, Path]:
    """Write EXP_DIR/trials.parquet and EXP_DIR/metrics.parquet atomically; return their paths."""
    exp_dir = Path(exp_dir)
    trials, metrics = read_experiment(exp_dir, targets)
    write_schedules(exp_dir, trials)
    return (write_table(exp_dir / "trials.parquet", trials, "trials"),
            write_table(exp_dir / "metrics.parquet", metrics, "metrics"))


def main(argv: list[str] | None = None) -> int:
    from tune_growth.cli import OneLineParser, checked, fail
    from tune_growth.results.answers import AnswerError, best_within, describe, fastest_to, parse_cost_limit

    parser = OneLineParser(prog="python -m tune_growth.results", description=__doc__.splitlines()[0])
    parser.add_argument("experiment", type=Path, help="an experiment folder (<storage>/<name>)")
    parser.add_argument("--fastest-to", metavar="ACC",
                        type=checked("--fastest-to", float, lambda v: 0 < v <= 1, "a validation accuracy in (0, 1]"),
                        help="the cheapest trial that reached this validation accuracy (cost: the search's, else "
                             "compute)")
    parser.add_argument("--best-within", metavar="COST",
                        type=checked("--best-within", parse_cost_limit, lambda v: True,
                                     "a positive compute (examples x pixels, e.g. 2e9) or seconds (e.g. 1000s)"),
                        help="the most accurate trial within this cost: compute (e.g. 2e9) or training seconds "
                             "(e.g. 1000s)")
    args = parser.parse_args(argv)
    if not args.experiment.is_dir():
        return fail(f"experiment folder {str(args.experiment)!r} does not exist; expected <storage>/<name>")
    trials_path = args.experiment / "trials.parquet"
    if any(args.experiment.glob("trial_*/params.json")):  # the trial folders are there: export them afresh
        trials_path, metrics_path = export(args.experiment)
        print(f"wrote {trials_path} and {metrics_path}")
    elif not trials_path.is_file():
        return fail(f"{str(args.experiment)!r} holds no trial folders and no trials.parquet; expected a search's "
                    "experiment folder")
    try:
        trials = check_schema(pd.read_parquet(trials_path), trials_path)
        write_schedules(args.experiment, trials)  # a published folder may hold the Parquet alone
        if args.fastest_to is not None:
            cost = search_record(args.experiment).get("cost") or "compute"
            print(describe(args.experiment, fastest_to(trials, args.fastest_to, cost),
                           f"fastest to val_acc {args.fastest_to:g} (by {cost})"))
        if args.best_within is not None:
            limit = args.best_within
            print(describe(args.experiment, best_within(trials, limit),
                           f"best within {limit.value:g} {COST_WORDS[limit.cost]}"))
    except (AnswerError, SchemaError) as err:
        return fail(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
