"""The search on a real local Ray with real Optuna: results, pruning, seeding, ASHA's late bloomers,
resume after the driver is killed, a simulated two-node cluster, bad input before Ray starts, and
what a user watches: the live progress lines, the Optuna journal (served by a real optuna-dashboard)
and TensorBoard's event files."""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import torch
from conftest import optuna_dashboard, tiny_search
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from ray import tune
from ray.tune.schedulers import FIFOScheduler
from scripts import run_json_script

from tune_growth.results.export import searcher_state
from tune_growth.schedule.core import Schedule
from tune_growth.search.run import DEFAULT_STOPPING, make_scheduler, run_search
from tune_growth.search.searcher import CONTROL_STUDY, ScheduleSearcher
from tune_growth.search.trial import dataset_payload, run_settings, run_trial

ROOT = Path(__file__).resolve().parents[1]
STATUSES = {"completed", "stopped", "diverged", "errored"}


def options(tmp_path, name, trials=6, seed=0, space="h1", stopping="asha", verbose=0, **kw):
    """A tiny search; ASHA unless told (these tests check what early stopping does to statuses)."""
    return tiny_search(tmp_path, name, space, trials, budget_epochs=1.5, evals=6, seed=seed, verbose=verbose,
                       stopping=stopping, **kw)


def searcher_states(exp_dir):
    return {e["trial_id"]: e["state"] for e in searcher_state(exp_dir)["history"]}


@pytest.fixture(scope="module")
def searched(ray_session, mnist, tmp_path_factory):
    """A 6-trial ASHA search with the live progress on (its lines kept in progress.txt beside it)."""
    tmp = tmp_path_factory.mktemp("search")
    opts = options(tmp, "h1run", verbose=1, mlflow=f"sqlite:///{tmp / 'mlflow.db'}")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        run_search(opts, mnist)
    (tmp / "progress.txt").write_text(printed.getvalue())
    from tune_growth.results.export import export
    export(opts.experiment_dir)
    return opts.experiment_dir


def test_live_progress_prints_a_line_per_change_with_the_right_statuses(searched):
    lines = (searched.parent / "progress.txt").read_text().splitlines()
    trials = pd.read_parquet(searched / "trials.parquet")
    assert 2 <= len(lines) <= 2 * len(trials)  # starts and ends, an end and the next start often on one line
    text = "\n".join(lines)
    for number, status in zip(trials["trial_number"], trials["status"]):
        assert text.count(f"#{number} {status}") == 1 and text.count(f"#{number} started") == 1, (number, status)
    assert "(baseline control)" in text and "stopped" in text  # ASHA stopped some: they say so
    assert f"done {len(trials)}/{len(trials)}" in lines[-1] and " took " in lines[-1] and "baseline " in lines[-1]


def journal_study(exp_dir, control=False):
    """The journal's study of the search's points, or of its baseline control (CONTROL_STUDY)."""
    name = CONTROL_STUDY.format(exp_dir.name) if control else exp_dir.name
    return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(exp_dir / "optuna.journal"))))


def journal_trials(exp_dir):
    """Every trial the journal shows: the search's points, then its control."""
    return journal_study(exp_dir).trials + journal_study(exp_dir, control=True).trials


def test_the_optuna_journal_holds_every_trial_as_trials_parquet_says(searched):
    trials = pd.read_parquet(searched / "trials.parquet").set_index("trial_id")
    shown = {t.user_attrs["trial_id"]: t for t in journal_trials(searched)}
    assert set(shown) == set(trials.index)
    points, control = journal_study(searched), journal_study(searched, control=True)
    assert [t.user_attrs["control"] for t in control.trials] == [True]  # the baseline control, apart
    assert not any(t.user_attrs["control"] for t in points.trials) and not points.best_trial.user_attrs["control"]
    assert points.metric_names == control.metric_names == ["val_acc"]  # the dashboard's axis name
    for t in shown.values():  # the dashboard's timeline: when each trial ran
        row = trials.loc[t.user_attrs["trial_id"]]
        assert t.datetime_start.timestamp() == pytest.approx(row["started_at"], abs=1e-3)
        assert t.datetime_complete.timestamp() == pytest.approx(row["ended_at"], abs=1e-3)
        assert t.datetime_start <= t.datetime_complete
    expected = {"completed": "COMPLETE", "stopped": "PRUNED", "diverged": "FAIL", "errored": "FAIL"}
    for trial_id, t in shown.items():
        row = trials.loc[trial_id]
        assert t.state.name == expected[row["status"]]
        assert t.user_attrs["hypothesis"] == row["hypothesis"] and t.user_attrs["schedule"] == row["schedule"]
        assert t.user_attrs["control"] == row["is_control"]
        if t.state.name == "COMPLETE":
            assert t.value == pytest.approx(row["final_val_acc"])
        if not row["is_control"]:  # the space's parameters, and validation accuracy against budget used
            assert t.params and t.intermediate_values
            assert max(t.intermediate_values) == pytest.approx(1000 * row["budget_used"], abs=1)


def test_mlflow_holds_every_trial_with_its_config_and_metrics_against_examples(searched):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{searched.parent / 'mlflow.db'}")  # what `--mlflow` with no URI opens
    experiment = client.get_experiment_by_name(searched.name)
    runs = {r.data.tags["trial_id"]: r for r in client.search_runs([experiment.experiment_id])}
    trials = pd.read_parquet(searched / "trials.parquet").set_index("trial_id")
    metrics = pd.read_parquet(searched / "metrics.parquet")
    assert set(runs) == set(trials.index)
    for trial_id, run in runs.items():
        config = json.loads(trials.loc[trial_id, "config_json"])
        assert run.data.params == {k: str(v) for k, v in config.items()} and run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "val_acc")
        rows = metrics[metrics["trial_id"] == trial_id].sort_values("examples")
        assert sorted(m.step for m in history) == rows["examples"].tolist()  # against examples seen
        if trials.loc[trial_id, "status"] == "completed":
            assert run.data.metrics["final_test_acc"] == pytest.approx(trials.loc[trial_id, "final_test_acc"])


def test_optuna_dashboard_serves_the_search(searched):
    with optuna_dashboard(searched / "optuna.journal") as api:
        studies = {s["study_name"]: s for s in api("studies")["study_summaries"]}
        assert searched.name in studies and studies[searched.name]["directions"] == ["maximize"]
        detail = api(f"studies/{studies[searched.name]['study_id']}")  # the study's page: every trial
        assert len(detail["trials"]) == len(pd.read_parquet(searched / "trials.parquet")) - 1  # the control apart
        assert detail["objective_names"] == ["val_acc"] and CONTROL_STUDY.format(searched.name) in studies
        assert all(t["datetime_start"] and t["datetime_complete"] for t in detail["trials"])


def test_tensorboard_events_hold_each_trials_scalars_against_examples(searched):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trials = pd.read_parquet(searched / "trials.parquet")
    metrics = pd.read_parquet(searched / "metrics.parquet")
    for trial_id, status in zip(trials["trial_id"], trials["status"]):
        events = EventAccumulator(str(searched / "tensorboard" / f"trial_{trial_id}"))
        events.Reload()
        rows = metrics[metrics["trial_id"] == trial_id].sort_values("examples")
        val = events.Scalars("val/acc")
        assert [e.step for e in val] == rows["examples"].tolist()
        assert [e.value for e in val] == pytest.approx(rows["val_acc"].tolist(), abs=1e-6)
        tags = set(events.Tags()["scalars"])
        assert {"val/loss", "schedule/lr", "schedule/image_size_px", "schedule/stage", "schedule/classes_seen"} <= tags
        if status == "completed":  # the test split, once, at the end
            assert [e.step for e in events.Scalars("test/acc")] == [rows["examples"].iloc[-1]]


def test_search_writes_both_parquet_files_with_the_baseline_first(searched):
    trials = pd.read_parquet(searched / "trials.parquet")
    metrics = pd.read_parquet(searched / "metrics.parquet")
    assert len(trials) == 6 and trials["trial_id"].is_unique
    assert trials.loc[0, "hypothesis"] == "baseline" and trials.loc[0, "is_control"]
    assert set(trials.loc[1:, "hypothesis"]) == {"h1"} and not trials.loc[1:, "is_control"].any()
    assert set(trials["status"]) <= STATUSES and (trials["status"] == "completed").any()
    assert (trials["schema_version"] == 2).all() and (metrics["schema_version"] == 2).all()
    # selection reads validation; the test split is evaluated once, at the end of a completed trial
    assert json.loads((searched / "search.json").read_text())["metric"] == "val_acc"
    completed = trials[trials["status"] == "completed"]
    assert completed["final_val_acc"].between(0.5, 1).all() and completed["final_test_acc"].between(0.5, 1).all()
    assert trials.loc[trials["status"] == "stopped", "final_test_acc"].isna().all()
    assert metrics["val_acc"].notna().all() and metrics["test_acc"].notna().sum() == metrics["finished"].sum()
    assert (metrics["eval_seconds"] > 0).all() and (metrics["wall_seconds"] > 0).all()
    for text, described in zip(trials["schedule_json"], trials["schedule"]):
        assert Schedule.from_json(text).describe() == described
    assert len(metrics) == trials["n_records"].sum()
    assert {"param_lr_mult", "param_h1_selection", "examples_to_0.95", "compute_to_0.95", "seconds_to_0.95"} <= set(trials)
    completed = trials[trials["status"] == "completed"]
    assert (completed["budget_used"] > 0.95).all()


def test_stopped_trials_reach_optuna_as_pruned(searched):
    trials = pd.read_parquet(searched / "trials.parquet")
    states = searcher_states(searched)
    expected = {"completed": "COMPLETE", "stopped": "PRUNED", "diverged": "FAIL", "errored": "FAIL"}
    for trial_id, status in zip(trials["trial_id"], trials["status"]):
        assert states[trial_id] == expected[status]


def test_same_command_and_seed_give_the_same_trial_configs(searched, mnist, tmp_path):
    opts = options(tmp_path, "again")
    run_search(opts, mnist)
    from tune_growth.results.export import read_experiment
    first, _ = read_experiment(searched)
    second, _ = read_experiment(opts.experiment_dir)
    assert first["config_json"].tolist() == second["config_json"].tolist()


def test_a_search_at_a_compute_budget_gives_every_trial_the_same_compute(ray_session, mnist, tmp_path):
    opts = options(tmp_path, "h3compute", trials=4, space="h3", stopping="none", budget_unit="compute")
    run_search(opts, mnist)
    from tune_growth.results.export import read_experiment
    trials, _ = read_experiment(opts.experiment_dir)
    assert (trials["status"] == "completed").all() and (trials["param_budget_unit"] == "compute").all()
    assert all(Schedule.from_json(j).budget_unit == "compute" for j in trials["schedule_json"])
    # budget_used is compute over the budget's: every schedule spends it all, as the baseline does (the
    # last batch of each stage rounds up: 43 batches of 128 for the baseline's 5,400 examples, 1.9% over)
    used = trials["budget_used"]
    assert used.between(0.999, 1.03).all() and (used / used[0] - 1).abs().lt(0.01).all(), used.tolist()
    shrinks = trials["schedule"].str.contains("@[0-9]px|@1[0-9]px|@2[0-7]px")
    assert shrinks.any() and (trials.loc[shrinks, "examples"] > trials.loc[0, "examples"]).all()  # small images: more
    assert json.loads((opts.experiment_dir / "search.json").read_text())["budget_unit"] == "compute"


def test_asha_lets_a_late_blooming_schedule_survive_the_first_rung(ray_session, mnist, tmp_path):
    """A: the baseline at a timid LR, steadily ahead early. B: an H2 curriculum that trains on two
    classes for 35% of the budget (all-class accuracy <= 20% by design), then wins at full budget.
    Run in that order, one at a time, ASHA compares B to A at each rung."""
    common = {"budget_epochs": 3.0, "batch_size": 128, "crop_pad": 2}
    a = {**common, "hypothesis": "baseline", "max_lr": 0.004}
    b = {**common, "hypothesis": "h2", "stages": 2, "h2_start": 2, "early_share": 0.35, "max_lr": 0.05}
    settings = run_settings("lenet5", 1.0, "cpu", "auto", 0, 30, str(tmp_path / "cache"), threads=1)
    trainable = tune.with_parameters(run_trial, dataset=dataset_payload(mnist), run=settings)

    def search(scheduler, name):  # A first (as the control), then B; one at a time
        searcher = ScheduleSearcher(lambda trial: b, {}, "val_acc", "max", lag=0, baseline=a)
        tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
            metric="val_acc", mode="max", scheduler=scheduler, num_samples=2, max_concurrent_trials=1,
            search_alg=searcher), run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0))
        results = {r.config["hypothesis"]: r.metrics for r in tuner.fit()}
        return results["baseline"], results["h2"]

    from ray.tune.schedulers import ASHAScheduler
    naive_a, naive_b = search(ASHAScheduler(time_attr="budget_used", max_t=1.05, grace_period=0.1,
                                            reduction_factor=2), "naive")
    assert not naive_b["finished"]  # compared while it still learned two classes: stopped
    ours = make_scheduler(options(tmp_path, "x", space="h2"))  # first rung at the space's PHASE_START
    ours_a, ours_b = search(ours, "ours")
    assert ours_b["finished"] and ours_b["val_acc"] > ours_a["val_acc"]  # it survives, and it wins
    # the default mode (whatever DEFAULT_STOPPING says) keeps it too; the ladder's case is in test_ladder.py.
    # FIFO (no early stopping) cuts no trial short by construction, so only another default needs a third search
    default = make_scheduler(options(tmp_path, "d", space="h2", stopping=DEFAULT_STOPPING))
    if not isinstance(default, FIFOScheduler):
        default_a, default_b = search(default, "default")
        assert default_b["finished"] and default_b["val_acc"] > default_a["val_acc"]


def cli_command(storage, *extra):
    return [sys.executable, "-m", "tune_growth.search", "h1", "--trials", "6", "--budget", "1", "--evals", "4",
            "--storage", str(storage), "--name", "interrupted", "--num-cpus", "2", *extra]


def finished_trials(exp_dir):
    count = 0
    for result in Path(exp_dir).glob("trial_*/result.json"):
        lines = result.read_text().splitlines()
        count += any(json.loads(line).get("finished") for line in lines if line.strip())
    return count


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_resume_after_the_driver_is_interrupted_runs_each_trial_once(tmp_path, sig):
    exp_dir = tmp_path / "interrupted"
    proc = subprocess.Popen(cli_command(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 240
    started = lambda: len(list(exp_dir.glob("trial_*/result.json")))  # noqa: E731
    while (finished_trials(exp_dir) < 1 or started() < 3) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the search ended before it could be interrupted"
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started, no chance to clean up
    else:
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C: Tune saves its state and stops
    proc.wait(timeout=120)
    resumed = subprocess.run(cli_command(tmp_path, "--resume"), capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    trials = pd.read_parquet(exp_dir / "trials.parquet")
    assert len(trials) == 6 and trials["trial_id"].is_unique
    assert trials["config_json"].is_unique and (trials["hypothesis"] == "baseline").sum() == 1
    assert set(trials["status"]) <= STATUSES
    history = searcher_state(exp_dir)["history"]
    assert [e["trial_id"] for e in history] == trials["trial_id"].tolist()
    assert all(e["state"] != "RUNNING" for e in history)
    shown = [t.user_attrs["trial_id"] for t in journal_trials(exp_dir)]  # the dashboard's view: once each
    assert sorted(shown) == sorted(trials["trial_id"])


TWO_NODES = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    import ray
    from ray.cluster_utils import Cluster
    from tune_growth.data import load_dataset
    from tune_growth.results.export import read_experiment
    from tune_growth.search import spaces
    from tune_growth.search.run import SearchOptions, run_search
    # GPUs declared, not real: Ray schedules by them; the trainers run on the CPU
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 1})
    cluster.add_node(num_cpus=1, num_gpus=1)
    ray.init(address=cluster.address)
    storage = Path(sys.argv[1])
    opts = SearchOptions(spaces.load("h3"), num_trials=4, budget_epochs=1.0, concurrency=2, cpus_per_trial=1, device="cpu",
                         gpus_per_trial=0.25, storage=storage, name="two_nodes", evals=3, verbose=0,
                         cache_dir=str(storage / "cache"))
    run_search(opts, load_dataset("mnist5k"))
    trials, _ = read_experiment(opts.experiment_dir)
    print(json.dumps({"nodes": sorted(set(trials["node_id"])), "statuses": trials["status"].tolist(),
                      "given": sorted(set(zip(trials["cpus"], trials["gpus"], trials["device"]))),
                      "cluster_nodes": len(ray.nodes())}), flush=True)
    ray.shutdown()
    cluster.shutdown()
''')


@pytest.mark.slow
def test_a_two_node_cluster_runs_trials_on_both_nodes_sharing_gpus(tmp_path):
    out = run_json_script(TWO_NODES, tmp_path)
    assert out["cluster_nodes"] == 2 and len(out["nodes"]) == 2  # trials ran on the head and the worker
    assert out["given"] == [[1.0, 0.25, "cpu"]]  # each trial got a quarter of a (declared) GPU
    assert len(out["statuses"]) == 4 and set(out["statuses"]) <= STATUSES


BAD_CLI = textwrap.dedent('''
    import contextlib, io, json, sys
    from pathlib import Path
    import ray
    import torch
    from tune_growth.search.__main__ import main
    storage = Path(sys.argv[1])
    (storage / "exists_mnist5k_lenet5_s0").mkdir(parents=True)
    cases = [["h9"], ["/nowhere/space.py"], ["h1", "--trials", "0"], ["h1", "--budget", "-1"],
             ["h1", "--objective", "frontier", "--stopping", "asha"],
             ["h1", "--objective", "frontier", "--min-budget", "30"], ["h1", "--min-budget", "1"],
             ["h1", "--gpus-per-trial", "lots"], ["h1", "--dataset", "cifar10", "--data-root", "/nowhere"],
             ["h1", "--resume", "--name", "never_ran"], ["h1", "--concurrency", "0"], ["h1", "--model", "vgg"],
             ["h1", "--label-noise", "1.5"], ["h1", "--budget-unit", "pixels"], ["h1", "--gpus-per-trial", "1"],
             ["finetune", "--budget", "3"], ["exists"]]
    if torch.cuda.is_available():  # there that request is valid: it would start a real search
        cases.remove(["h1", "--gpus-per-trial", "1"])
    out = []
    for args in cases:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                code = main([*args, "--storage", str(storage)])
            except SystemExit as exit_:
                code = exit_.code
        out.append([code, err.getvalue()])
    print(json.dumps({"results": out, "ray_started": ray.is_initialized(),
                      "written": sorted(p.name for p in storage.iterdir())}))
''')


def test_bad_search_input_exits_2_before_ray_starts(tmp_path):
    (tmp_path / "search_spaces").mkdir()
    exists = tmp_path / "search_spaces" / "exists.py"
    exists.write_text((ROOT / "search_spaces" / "h1.py").read_text())
    proc = subprocess.run([sys.executable, "-c", BAD_CLI.replace('["exists"]', f'["{exists}", "--name", '
                                                                 '"exists_mnist5k_lenet5_s0"]'), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = ["unknown search space 'h9'", "does not exist", "--trials 0 is invalid", "--budget -1.0 is invalid",
                "--stopping asha cannot stop a frontier search early", "--min-budget 30 is invalid; expected a budget "
                "in (0, 20)", "--min-budget 1 needs --objective frontier",
                "--gpus-per-trial 'lots' is invalid", "'/nowhere' is not a folder", "no experiment at",
                "--concurrency 0 is invalid", "unknown model 'vgg'", "--label-noise 1.5 is invalid",
                "invalid choice: 'pixels'", "asks for GPUs but this machine has none",
                "/ 3 budget epochs=1.33333 can exceed PHASE_START=0.4", "exists; pass --resume"]
    if torch.cuda.is_available():
        expected.remove("asks for GPUs but this machine has none")
    assert len(out["results"]) == len(expected)
    for (code, err), message in zip(out["results"], expected):
        assert code == 2 and err.count("\n") == 1 and message in err, (message, err)
    assert not out["ray_started"] and out["written"] == ["exists_mnist5k_lenet5_s0"]


def test_a_searcher_pickled_before_the_control_had_its_own_journal_study_resumes(tmp_path):
    # Tune unpickles the searcher of an interrupted search; one pickled by the code before (one
    # `_journal_study`) must open both journal studies again on the first finished trial
    state = {"journal": str(tmp_path / "optuna.journal"), "study_name": "old", "_mode": "max", "_metric": "val_acc",
             "_journal_study": None, "_published": {"x"}}
    searcher = ScheduleSearcher.__new__(ScheduleSearcher)
    searcher.__setstate__(state)
    assert searcher._journal_studies == {} and searcher._published == set()
    assert searcher.journal_study(control=True).study_name == CONTROL_STUDY.format("old")
    assert searcher.journal_study().metric_names == ["val_acc"]
