"""Successive halving over budgets (search/ladder.py): rungs of complete runs at growing budgets,
promotions of the best 1/eta, one Optuna trial per configuration, reproducible and resumable;
and a real search in that mode on a local Ray."""

import json

import optuna
import pandas as pd
import pytest
from conftest import tiny_search
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from tune_growth.data import load_dataset
from tune_growth.results.export import searcher_state
from tune_growth.search import spaces
from tune_growth.search.history import ladder_points, optuna_study
from tune_growth.search.ladder import BudgetLadder
from tune_growth.search.run import SearchOptions, run_search
from tune_growth.search.searcher import CONTROL_STUDY
from tune_growth.search.summary import summarize

BUDGET = 18.0


def space(trial):
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)


def score(config):
    """A made-up validation accuracy: best near lr_mult 1, a little higher at larger budgets."""
    return 0.9 - 0.05 * abs(config["lr_mult"] - 1.0) + 0.001 * config["budget_epochs"]


def ladder(**kw):
    return BudgetLadder(space, {"hypothesis": "h1", "budget_epochs": BUDGET}, "val_acc", "max", lag=0,
                        baseline={"hypothesis": "baseline", "budget_epochs": BUDGET}, budget_epochs=BUDGET, **kw)


def drive(searcher, runs, start=0):
    """Suggest and finish `runs` runs one at a time (what Ray does with one slot); their configs."""
    configs = []
    for n in range(start, start + runs):
        config = searcher.suggest(f"t{n}")
        configs.append(config)
        result = {"val_acc": score(config) if "lr_mult" in config else 0.8, "finished": True, "status": "completed"}
        searcher.on_trial_complete(f"t{n}", result)
    return configs


def test_rungs_run_complete_schedules_at_growing_budgets_and_promote_the_best_third():
    s = ladder(eta=3, rungs=3)
    configs = drive(s, 16)
    assert configs[0]["hypothesis"] == "baseline" and configs[0]["budget_epochs"] == BUDGET  # the control, full
    budgets = {e.rung: c["budget_epochs"] for e, c in zip(s.history[1:], configs[1:])}
    assert budgets == {0: BUDGET / 9, 1: BUDGET / 3, 2: BUDGET}
    history = s.history[1:]
    for i, e in enumerate(history):
        if e.rung == 0:
            assert e.point == i + 1  # a new configuration's point is its own trial number
            continue
        parent = next(p for p in history[:i] if p.point == e.point and p.rung == e.rung - 1)
        assert parent.params == e.params and parent.state == "COMPLETE"
        finished = [p for p in history[:i] if p.rung == e.rung - 1]  # with lag 0, all of them
        rank = sorted(finished, key=lambda p: -p.value).index(parent)
        assert rank < len(finished) // 3  # among the best third of its rung when promoted
    pairs = [(e.point, e.rung) for e in history]
    assert len(pairs) == len(set(pairs))  # no configuration runs twice at one rung
    assert sum(e.rung == 2 for e in history) >= 1


def test_optuna_sees_one_trial_per_configuration_ranked_by_the_rung_it_reached():
    s = ladder(eta=3, rungs=3)
    drive(s, 16)
    points = ladder_points(s.history, s.rungs)
    runs = [e for e in s.history if not e.control]
    assert len([p for p in points if not p.control]) == len({e.point for e in runs})
    study = optuna_study(s.history, "max", rungs=s.rungs)
    for trial, point in zip(study.trials, [p for p in points if not p.control]):
        reached = {e.rung: e.value for e in runs if e.point == point.point}
        if 2 in reached:
            assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value == reached[2]
        else:
            assert trial.state == optuna.trial.TrialState.PRUNED and trial.intermediate_values == reached


def test_same_seed_same_runs_and_a_restored_ladder_continues_the_same_sequence(tmp_path):
    first = drive(ladder(seed=3), 14)
    assert first == drive(ladder(seed=3), 14)
    assert first != drive(ladder(seed=4), 14)
    s = ladder(seed=3)
    head = drive(s, 8)
    s.save(str(tmp_path / "state.json"))
    restored = ladder(seed=3)
    restored.restore(str(tmp_path / "state.json"))
    assert head + drive(restored, 6, start=8) == first


def test_a_ladder_waits_for_its_lagged_history_instead_of_deciding_on_timing():
    s = BudgetLadder(space, {"hypothesis": "h1"}, "val_acc", "max", lag=2, baseline=None, budget_epochs=9.0)
    assert s.suggest("a") is not None and s.suggest("b") is not None and s.suggest("c") is not None
    assert s.suggest("d") is None  # run a (outside the lag) still runs
    s.on_trial_complete("a", {"val_acc": 0.5, "finished": True})
    assert s.suggest("d") is not None


@pytest.mark.parametrize("eta, rungs", [(1.0, 3), (3.0, 0)])
def test_bad_ladder_settings_are_refused(eta, rungs):
    with pytest.raises(ValueError, match="invalid"):
        ladder(eta=eta, rungs=rungs)


def test_a_budget_ladder_search_on_ray_writes_its_rungs_and_picks_only_full_budget_runs(ray_session, tmp_path):
    data = load_dataset("mnist5k")
    opts = tiny_search(tmp_path, "ladder", "h1", trials=9, budget_epochs=1.8, evals=3, stopping="budgets")
    run_search(opts, data)
    text = summarize(opts.experiment_dir, "val_acc", "max")
    trials = pd.read_parquet(opts.experiment_dir / "trials.parquet")
    assert json.loads((opts.experiment_dir / "search.json").read_text())["stopping"] == "budgets"
    runs = trials[~trials["is_control"]]
    assert set(runs["rung"]) >= {0, 1} and runs["point"].notna().all()
    rung0 = runs.loc[runs["rung"] == 0, "param_budget_epochs"].tolist()
    assert rung0 == pytest.approx([0.2] * len(rung0))
    assert set(runs.loc[runs["rung"] < 2, "status"]) <= {"screened", "diverged", "errored"}
    params = [c for c in runs.columns if c.startswith("param_") and c not in ("param_budget_epochs", "param_rung")]
    for _, run in runs[runs["rung"] > 0].iterrows():  # a promotion reruns its configuration's rung-0 parameters
        parent = runs[(runs["point"] == run["point"]) & (runs["rung"] == 0)].iloc[0]
        assert parent[params].equals(run[params]) and parent["final_val_acc"] > 0
    full = trials[trials["status"] == "completed"]
    assert (full["param_budget_epochs"] == 1.8).all() and full["is_control"].any()
    assert "screened" in text  # the summary counts them, and picks "best" among full-budget runs only
    storage = JournalStorage(JournalFileBackend(str(opts.journal)))
    shown = {t.user_attrs["trial_id"]: t for name in ("ladder", CONTROL_STUDY.format("ladder"))  # the control apart
             for t in optuna.load_study(study_name=name, storage=storage).trials}
    for _, run in runs.iterrows():  # in the dashboard a run below the top rung is PRUNED, its value at its rung
        t = shown[run["trial_id"]]
        if run["status"] == "screened":
            assert t.state.name == "PRUNED" and list(t.intermediate_values.values()) == [pytest.approx(run["final_val_acc"])]
        elif run["status"] == "completed":
            assert t.state.name == "COMPLETE" and t.value == pytest.approx(run["final_val_acc"])


def test_a_late_blooming_schedule_is_promoted_by_the_ladder_and_wins(ray_session, tmp_path):
    """The late bloomer of test_search.py (an H2 curriculum that trains on two classes for 35% of
    its budget, all-class accuracy <= 20% then by design) against timid baselines that are ahead of
    it early in a partial run. On the ladder every run is the whole schedule at its rung's budget, so
    B's miniature ends on all ten classes, is the best third of rung 0, is promoted, and beats the
    control at the full budget: it survives the default mode."""
    from ray import tune

    from tune_growth.search.run import make_scheduler
    from tune_growth.search.trial import dataset_payload, run_settings, run_trial

    data = load_dataset("mnist5k")
    common = {"budget_epochs": 3.0, "batch_size": 128, "crop_pad": 2}
    a = {**common, "hypothesis": "baseline", "max_lr": 0.004}
    b = {**common, "hypothesis": "h2", "stages": 2, "h2_start": 2, "early_share": 0.35, "max_lr": 0.05}
    points = [b, {**a, "max_lr": 0.003}, {**a, "max_lr": 0.005}]  # B first, then two timid baselines

    def late_space(trial):  # one point per configuration, in that order (lag 0, one slot)
        return dict(points[trial.number % len(points)])

    searcher = BudgetLadder(late_space, {}, "val_acc", "max", lag=0, baseline=a, budget_epochs=3.0, eta=3, rungs=2)
    settings = run_settings("lenet5", 1.0, "cpu", "auto", 0, 6, str(tmp_path / "cache"), threads=1)
    trainable = tune.with_parameters(run_trial, dataset=dataset_payload(data), run=settings)
    opts = SearchOptions(spaces.load("h2"), num_trials=5, budget_epochs=3.0, concurrency=1, cpus_per_trial=1, device="cpu",
                         gpus_per_trial=0, storage=tmp_path, name="late", stopping="budgets")
    tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
        metric="val_acc", mode="max", scheduler=make_scheduler(opts), num_samples=5, max_concurrent_trials=1,
        search_alg=searcher), run_config=tune.RunConfig(name="late", storage_path=str(tmp_path), verbose=0))
    results = tuner.fit()
    rung_of = {e["trial_id"]: None if e["control"] else e["rung"]  # the control is no run of a point
               for e in searcher_state(tmp_path / "late")["history"]}
    runs = [(r.config["hypothesis"], rung_of[r.metrics["trial_id"]], r.metrics) for r in results]
    assert sum(rung == 0 for _, rung, _ in runs) == 3 and all(m["finished"] for _, _, m in runs)  # FIFO: none cut
    promoted = [(h, m) for h, rung, m in runs if rung == 1]
    assert [h for h, _ in promoted] == ["h2"]  # the curriculum's miniature was the best of its rung
    control = next(m for _, rung, m in runs if rung is None)  # the control carries no rung
    assert promoted[0][1]["val_acc"] > control["val_acc"]  # and it wins at the full budget
