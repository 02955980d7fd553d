"""The Optuna searcher behind Tune: baseline first, pruned/failed states, seeded sequences, resume."""

import json

import optuna
import pytest

from tune_growth.search.searcher import ScheduleSearcher


def space(trial):
    trial.suggest_float("lr_mult", 0.25, 4.0, log=True)
    trial.suggest_int("stages", 2, 4)


def make(seed=0, lag=2, baseline=True):
    return ScheduleSearcher(space, {"hypothesis": "h1", "crop_pad": 2}, "val_acc", "max", seed=seed, lag=lag,
                            baseline={"hypothesis": "baseline", "crop_pad": 2} if baseline else None)


def finish(searcher, trial_id, acc, finished=True, status="completed", error=False):
    searcher.on_trial_result(trial_id, {"val_acc": acc / 2, "budget_used": 0.4})
    searcher.on_trial_complete(trial_id, None if error else {"val_acc": acc, "finished": finished, "status": status,
                                                             "budget_used": 1.0 if finished else 0.4}, error=error)


def test_baseline_comes_first_and_configs_carry_the_fixed_parameters():
    s = make()
    first, second = s.suggest("t0"), s.suggest("t1")
    assert first == {"hypothesis": "baseline", "crop_pad": 2}
    assert second["hypothesis"] == "h1" and second["crop_pad"] == 2 and {"lr_mult", "stages"} <= set(second)


def test_stopped_trials_are_pruned_diverged_and_errored_fail():
    s = make(baseline=False, lag=4)  # no waiting: all four are suggested up front
    for i in range(4):
        s.suggest(f"t{i}")
    finish(s, "t0", 0.97)                                  # ran its whole schedule
    finish(s, "t1", 0.55, finished=False, status="running")  # stopped by ASHA at a rung
    finish(s, "t2", 0.0, status="diverged")
    finish(s, "t3", 0.0, error=True)
    states = [t.state for t in s.optuna_study().trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                      optuna.trial.TrialState.FAIL, optuna.trial.TrialState.FAIL]
    study = s.optuna_study()
    assert study.trials[0].value == 0.97 and study.trials[1].value is None
    assert study.trials[1].intermediate_values == {400: 0.275}  # its rung score stays an intermediate value
    assert study.best_trial.number == 0


def run_sequence(seed, completion_order):
    """Suggest 12 configs with 2 running at a time, finishing them in the given order pattern."""
    s, configs, running = make(seed=seed, lag=2), [], []
    while len(configs) < 12:
        config = s.suggest(f"t{len(configs)}")
        if config is None:  # waits for the lagged history: finish the oldest running trial
            finish(s, running.pop(0), 0.9)
            continue
        configs.append(config)
        running.append(f"t{len(configs) - 1}")
        if len(running) == 2:
            done = running.pop(completion_order(len(configs)) % 2)
            finish(s, done, 0.8 + 0.01 * (len(configs) % 7))
    return configs


def test_same_seed_same_sequence_whatever_the_completion_order():
    in_order = run_sequence(3, lambda k: 0)
    shuffled = run_sequence(3, lambda k: k * 7 % 3)
    assert in_order == shuffled
    assert run_sequence(4, lambda k: 0) != in_order


def test_suggest_waits_for_the_lagged_history():
    s = make(baseline=False, lag=1)  # trial k samples from trials 0..k-2, so trial 2 needs trial 0 done
    assert s.suggest("t0") is not None and s.suggest("t1") is not None
    assert s.suggest("t2") is None  # t0 still running
    finish(s, "t0", 0.9)
    assert s.suggest("t2") is not None


def test_state_round_trips_through_json_and_continues_the_sequence(tmp_path):
    a = make(seed=5)
    for i in range(4):
        a.suggest(f"t{i}")
        finish(a, f"t{i}", 0.9 - 0.01 * i)
    path = tmp_path / "searcher-state.json"
    a.save(str(path))
    json.loads(path.read_text())  # plain JSON, no pickle
    b = make(seed=0)
    b.restore(str(path))
    assert b.suggest("t4") == a.suggest("t4")


def test_unknown_sampler_is_refused():
    with pytest.raises(ValueError, match="sampler 'grid' is unknown"):
        ScheduleSearcher(space, {}, "val_acc", "max", sampler="grid")
