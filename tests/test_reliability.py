"""Faults injected on purpose, real Ray and Optuna: divergence, a crashed trial, a lost node, killed
writes, malicious checkpoints, a cluster config edited wrong, and property-based input checks."""

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripts import run_json_script

from tune_growth.analysis.model_plots import load_trial_model
from tune_growth.data import DataSpec, load_dataset
from tune_growth.results.export import read_experiment, searcher_state
from tune_growth.schedule.builders import HYPOTHESES, build_schedule
from tune_growth.schedule.core import Schedule, ScheduleError, Stage
from tune_growth.search import spaces
from tune_growth.search.cluster_check import main as cluster_check
from tune_growth.search.run import SearchOptions, run_search

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist5k")


def tiny_options(tmp_path, name, space, trials=3, **kw):
    return SearchOptions(space, num_trials=trials, budget_epochs=1.0, concurrency=2, cpus_per_trial=1, device="cpu",
                         gpus_per_trial=0, storage=tmp_path, name=name, evals=4, verbose=0,
                         cache_dir=str(tmp_path / "cache"), **kw)


ABSURD = '''FIXED = {"hypothesis": "h3"}
METRIC, MODE = "val_acc", "max"
DATASET, MODEL = "mnist5k", "lenet5"
BUDGET_EPOCHS, NUM_TRIALS, PHASE_START = 1.0, 4, 0.5
def space(trial):
    trial.suggest_float("lr_mult", 1e5, 1e6, log=True)   # absurd: every such trial diverges
'''


def test_divergent_trials_end_as_diverged_and_the_search_goes_on(ray_session, mnist, tmp_path):
    path = tmp_path / "absurd.py"
    path.write_text(ABSURD)
    opts = tiny_options(tmp_path, "absurd", spaces.load(str(path)), trials=4)
    run_search(opts, mnist)
    trials, _ = read_experiment(opts.experiment_dir)
    assert trials["status"].tolist() == ["completed", "diverged", "diverged", "diverged"]  # baseline, then 3
    diverged = trials[trials["status"] == "diverged"]
    assert (diverged["final_test_acc"] == 0.0).all() and diverged["error"].isna().all()  # no exception
    states = {e["trial_id"]: e["state"] for e in searcher_state(opts.experiment_dir)["history"]}
    assert [states[t] for t in diverged["trial_id"]] == ["FAIL"] * 3  # Optuna sees them as failed


def test_a_crashed_trial_resumes_from_its_checkpoint_with_the_same_result(ray_session, mnist, tmp_path):
    space = spaces.load("h1")
    clean = tiny_options(tmp_path, "clean", space, trials=2, stopping="none")
    crashed = tiny_options(tmp_path, "crashed", space, trials=2, stopping="none", fail_at_step=20)
    run_search(clean, mnist)
    run_search(crashed, mnist)  # both trials raise once, mid-stage at step 20+; FailureConfig retries them
    a, ma = read_experiment(clean.experiment_dir)
    b, mb = read_experiment(crashed.experiment_dir)
    assert (b["status"] == "completed").all() and a["final_test_acc"].tolist() == b["final_test_acc"].tolist()
    cols = ["trial_number", "step", "examples", "stage", "lr", "train_loss", "val_loss", "val_acc", "compute"]

    def ordered(metrics, trials):  # trial ids are random; the suggestion order is not
        numbered = metrics.merge(trials[["trial_id", "trial_number"]], on="trial_id")
        return numbered.sort_values(["trial_number", "step"])[cols].reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(ma, a), ordered(mb, b))
    assert len(list((tmp_path / "cache" / "faults").iterdir())) == 2  # each trial failed once
    for trial_dir in crashed.experiment_dir.glob("trial_*"):  # Ray recorded the failure, then retried:
        assert "injected failure" in (trial_dir / "error.txt").read_text()  # the baseline from scratch (no
    # checkpoint before its end), the H1 trial from its stage-end checkpoint; both end as if never hit


LOST_NODE = textwrap.dedent('''
    import json, sys, threading, time
    from pathlib import Path
    import ray
    from ray.cluster_utils import Cluster
    from tune_growth.data import load_dataset
    from tune_growth.results.export import read_experiment
    from tune_growth.search import spaces
    from tune_growth.search.run import SearchOptions, run_search
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address)
    storage = Path(sys.argv[1])
    opts = SearchOptions(spaces.load("h1"), num_trials=4, budget_epochs=3.0, concurrency=2, cpus_per_trial=1, device="cpu",
                         gpus_per_trial=0, storage=storage, name="lost", evals=6, verbose=0, stopping="none",
                         cache_dir=str(storage / "cache"), max_failures=3)
    search = threading.Thread(target=run_search, args=(opts, load_dataset("mnist5k")))
    search.start()
    worker_id, removed_while = worker.node_id, None
    deadline = time.time() + 300
    while time.time() < deadline and removed_while is None:
        for result in opts.experiment_dir.glob("trial_*/result.json"):
            rows = [json.loads(l) for l in result.read_text().splitlines() if l.strip()]
            if rows and rows[-1].get("node_id") == worker_id and not rows[-1]["finished"] and any(
                    r.get("checkpoint_dir_name") for r in rows):
                cluster.remove_node(worker)  # the spot node disappears mid-trial, after a checkpoint
                removed_while = result.parent.name
                break
        time.sleep(0.2)
    search.join(timeout=600)
    trials, _ = read_experiment(opts.experiment_dir)
    print(json.dumps({"removed_while": removed_while, "statuses": trials["status"].tolist(),
                      "n": len(trials), "alive": search.is_alive()}), flush=True)
    ray.shutdown()
    cluster.shutdown()
''')


@pytest.mark.slow
def test_a_lost_worker_node_costs_its_trials_only_time(tmp_path):
    out = run_json_script(LOST_NODE, tmp_path, timeout=900)
    assert out["removed_while"] is not None, "no trial ran on the worker node"
    assert not out["alive"] and out["n"] == 4 and out["statuses"] == ["completed"] * 4  # every trial finished


KILLED_EXPORT = textwrap.dedent('''
    import os, signal, sys
    import pandas as pd
    import pyarrow.parquet as pq
    from tune_growth.io import atomic_write_parquet
    def dies_half_way(table, where, **kwargs):  # pandas passes a path or an open file
        f = where if hasattr(where, "write") else open(where, "wb")
        f.write(b"PAR1" + b"half a parquet file")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    pq.write_table = dies_half_way
    atomic_write_parquet(sys.argv[1], pd.DataFrame({"v": [2, 3]}))
''')


def test_a_killed_export_leaves_the_previous_file_whole(tmp_path):
    from tune_growth.io import atomic_write_parquet
    target = tmp_path / "trials.parquet"
    atomic_write_parquet(target, pd.DataFrame({"v": [1]}))
    proc = subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(target)], capture_output=True, cwd=ROOT)
    assert proc.returncode == -9  # it really was killed mid-write
    assert pd.read_parquet(target)["v"].tolist() == [1]


class Payload:
    """Unpickling this would run a command: what a malicious checkpoint would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_checkpoints_load_with_weights_only(mnist, tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "trial_x" / "checkpoint_000000"
    folder.mkdir(parents=True)
    with open(folder / "trainer.pt", "wb") as f:
        pickle.dump({"config": Payload(str(marker))}, f)
    with pytest.raises(pickle.UnpicklingError):
        load_trial_model(tmp_path / "trial_x", mnist)
    assert not marker.exists()


def test_a_malicious_imagenette_cache_is_refused_and_rebuilt(tmp_path):
    from dataset_files import write_image_folder
    write_image_folder(tmp_path)
    marker = tmp_path / "pwned"
    cache = tmp_path / ".tune_growth_cache" / "imagenette_16px.pt"
    cache.parent.mkdir()
    with open(cache, "wb") as f:
        pickle.dump({"fingerprint": Payload(str(marker))}, f)
    data = load_dataset(DataSpec("imagenette", str(tmp_path), image_size=16))
    assert not marker.exists() and data.train_x.shape[-1] == 16
    assert torch.load(cache, weights_only=True)["train_x"].shape[-1] == 16  # rebuilt, safe to load


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("min_workers: 0", "min_worker: 0"), "'min_worker' was unexpected"),
    (lambda t: t.replace("max_workers: 8\n    #", "max_workers: eight\n    #"), "rejected by Ray's validator"),
    (lambda t: t.replace('resources: {"CPU": 4, "GPU": 1}', 'resources: {"CPU": 4}'), "no node type states"),
    (lambda t: t.replace("provider:\n", "provider: [\n"), "not valid YAML"),
])
def test_a_cluster_yaml_edited_wrong_gets_one_line_and_exit_2(edit, message, tmp_path, capsys):
    path = tmp_path / "cluster.yaml"
    path.write_text(edit((ROOT / "cluster.yaml").read_text()))
    assert cluster_check([str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert cluster_check([str(ROOT / "cluster.yaml")]) == 0


stage_strategy = st.builds(Stage, st.lists(st.integers(-2, 12), min_size=0, max_size=4).map(tuple),
                           st.one_of(st.none(), st.integers(-3, 600)), st.integers(-4, 64),
                           st.one_of(st.floats(-0.5, 1.5), st.just(float("nan"))))


@settings(max_examples=300, deadline=None)
@given(stages=st.lists(stage_strategy, max_size=4),
       budget=st.one_of(st.floats(-5, 50), st.sampled_from([float("nan"), float("inf")])),
       batch=st.integers(-2, 1024))
def test_schedule_constructor_either_validates_or_names_the_problem(stages, budget, batch):
    try:
        s = Schedule(tuple(stages), 10, budget_epochs=budget, batch_size=batch)
    except ScheduleError as err:
        assert "\n" not in str(err) and ("expected" in str(err))
        return
    assert Schedule.from_json(s.to_json()) == s and s.describe().startswith(f"{len(s.stages)} stage")
    assert abs(sum(st_.share for st_ in s.stages) - 1) <= 1e-6 and s.budget_epochs > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hypothesis=st.sampled_from(sorted(HYPOTHESES)), stages=st.integers(0, 6), early=st.floats(-0.2, 1.2),
       growth=st.floats(0.5, 5), h1_start=st.integers(-1, 500), h1_growth=st.floats(0.5, 50),
       h2_start=st.integers(-1, 12), h3_start=st.floats(-0.1, 1.2))
def test_builders_either_build_a_valid_schedule_or_say_why(mnist, hypothesis, stages, early, growth, h1_start,
                                                          h1_growth, h2_start, h3_start):
    params = {"hypothesis": hypothesis, "stages": stages, "early_share": early, "share_growth": growth,
              "h1_start": h1_start, "h1_growth": h1_growth, "h2_start": h2_start, "h3_start": h3_start}
    try:
        s = build_schedule(params, mnist)
    except ValueError as err:  # ScheduleError is a ValueError
        assert "\n" not in str(err) and "expected" in str(err)
        return
    last = s.stages[-1]
    assert last.per_class is None and last.image_size == 28 and len(last.classes) == 10
    assert abs(sum(x.share for x in s.stages) - 1) <= 1e-6 and Schedule.from_json(s.to_json()) == s
