"""The frontier search: its measures (Pareto flags, hypervolume against Optuna's own, the expected
hypervolume), a whole `search h1 --objective frontier --cost compute` on mnist5k from the command
line (Pareto flags in trials.parquet, a two-objective journal the real optuna-dashboard serves),
the answers `results --fastest-to / --best-within` and a rerun of one, and the fronts drawn by the
report and the study."""

import contextlib
import io
import json
import re
import shlex

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import optuna_dashboard
from optuna._hypervolume import compute_hypervolume
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from tune_growth.results.export import main as results_main
from tune_growth.results.frontier import expected_hypervolume, expected_hypervolume_band, hypervolume, pareto_mask
from tune_growth.schedule.core import Schedule

LOW, HIGH = 0.05, 0.4  # the search's budget range, epochs of mnist5k


@pytest.mark.parametrize("seed", range(6))
def test_hypervolume_is_optunas_in_log_cost(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 15))
    acc, cost = rng.uniform(0.05, 0.99, n), 10 ** rng.uniform(5, 9, n)
    ref = (0.1, 5e8)
    keep = (acc > ref[0]) & (cost < ref[1])  # Optuna's counts only points dominating the reference
    points = np.stack([-acc[keep], np.log10(cost[keep])], axis=1)
    theirs = compute_hypervolume(points, np.array([-ref[0], np.log10(ref[1])])) if keep.any() else 0.0
    assert hypervolume(acc, cost, *ref) == pytest.approx(theirs, abs=1e-12)
    dominated = [any((acc[j] >= acc[i]) and (cost[j] <= cost[i]) and (acc[j] > acc[i] or cost[j] < cost[i])
                     for j in range(n)) for i in range(n)]
    assert pareto_mask(acc, cost).tolist() == [not d for d in dominated]
    # the front alone has the hypervolume of every point: dominated points add nothing
    front = pareto_mask(acc, cost)
    assert hypervolume(acc[front], cost[front], *ref) == pytest.approx(hypervolume(acc, cost, *ref))


def test_the_expected_hypervolume_of_one_trial_is_the_mean_of_each_trials_and_rises_with_n():
    acc, cost, ref = np.array([0.6, 0.8, 0.9, 0.5]), np.array([1e6, 1e7, 1e8, 1e5]), (0.1, 2e8)
    single = np.mean([hypervolume(acc[[i]], cost[[i]], *ref) for i in range(4)])
    curve = expected_hypervolume(acc, cost, ref, draws=20_000)
    assert curve[0] == pytest.approx(single, rel=0.02)
    assert np.all(np.diff(curve) > 0) and curve[-1] < hypervolume(acc, cost, *ref)  # draws repeat trials
    mean, low, high = expected_hypervolume_band(acc, cost, ref, n_boot=50)
    assert np.all(low <= mean + 1e-9) and np.all(mean <= high + 1e-9) and np.all(high - low > 0)


def run_cli(main, args):
    """(exit code, stdout, stderr) of a CLI main in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exit_:  # argparse's refusal
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def frontier(ray_session, tmp_path_factory):
    """`search h1 --objective frontier --cost compute` on mnist5k: 6 trials, budgets 0.05-0.4 epochs."""
    from tune_growth.search.__main__ import main

    storage = tmp_path_factory.mktemp("frontier")
    code, out, err = run_cli(main, ["h1", "--objective", "frontier", "--cost", "compute", "--trials", "6",
                                    "--budget", str(HIGH), "--min-budget", str(LOW), "--evals", "2",
                                    "--concurrency", "2", "--storage", str(storage)])
    assert code == 0, err[-2000:]
    exp = storage / "h1_mnist5k_lenet5_frontier_compute_s0"
    assert "front (" in out and f"tune-growth results {exp} --fastest-to" in out
    assert not re.search(r"#\d+ screened", out)  # the live line: runs at other budgets are no budget ladder's
    return exp


def test_a_frontier_search_searches_the_budget_and_flags_its_pareto_trials(frontier):
    trials = pd.read_parquet(frontier / "trials.parquet")
    assert len(trials) == 6 and (trials["status"] == "completed").all()
    control, points = trials[trials["is_control"]], trials[~trials["is_control"]]
    assert control["param_budget_epochs"].tolist() == [HIGH]  # the baseline control at the top of the range
    assert points["param_budget_epochs"].between(LOW, HIGH).all() and points["param_budget_epochs"].nunique() == 5
    assert set(trials["frontier_cost"]) == {"compute"} and not control["pareto"].any()
    acc, cost = points["final_val_acc"].to_numpy(), points["compute"].to_numpy(float)
    for i, flagged in enumerate(points["pareto"]):  # optimal exactly when no other point dominates it
        others = np.delete(np.arange(len(acc)), i)
        beaten = ((acc[others] >= acc[i]) & (cost[others] <= cost[i]) & ((acc[others] > acc[i]) | (cost[others] < cost[i])))
        assert flagged == (not beaten.any())
    search = json.loads((frontier / "search.json").read_text())
    assert search["objective"] == "frontier" and search["cost"] == "compute" and search["budget_range"] == [LOW, HIGH]


def test_the_journal_has_both_directions_and_the_dashboard_serves_them(frontier):
    storage = JournalStorage(JournalFileBackend(str(frontier / "optuna.journal")))
    study = optuna.load_study(study_name=frontier.name, storage=storage)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.metric_names == ["val_acc", "compute"]
    trials = pd.read_parquet(frontier / "trials.parquet").set_index("trial_id")
    for t in study.trials:
        row = trials.loc[t.user_attrs["trial_id"]]
        assert t.values == pytest.approx([row["final_val_acc"], row["compute"]])
        assert t.params["budget_epochs"] == pytest.approx(row["param_budget_epochs"])
    assert {t.user_attrs["trial_id"] for t in study.best_trials} == set(trials.index[trials["pareto"].astype(bool)])
    with optuna_dashboard(frontier / "optuna.journal") as api:
        studies = {s["study_name"]: s for s in api("studies")["study_summaries"]}
        assert studies[frontier.name]["directions"] == ["maximize", "minimize"]
        detail = api(f"studies/{studies[frontier.name]['study_id']}")
        assert detail["objective_names"] == ["val_acc", "compute"] and len(detail["trials"]) == 5
        assert sorted(t["number"] for t in detail["best_trials"]) == sorted(t.number for t in study.best_trials)


def test_the_front_answers_fastest_to_and_best_within_and_its_schedule_reruns(frontier, tmp_path):
    from tune_growth.train.cli import main as train_main

    trials = pd.read_parquet(frontier / "trials.parquet")
    target = float(trials["final_val_acc"].median())
    code, out, err = run_cli(results_main, [str(frontier), "--fastest-to", str(target)])
    assert code == 0, err
    reached = trials[trials["final_val_acc"] >= target]
    answer = reached.loc[reached["compute"].idxmin()]
    assert f"trial {answer['trial_number']}" in out.splitlines()[1] and answer["schedule"] in out
    path = frontier / "schedules" / f"{answer['trial_id']}.json"
    assert f"schedule JSON: {path}" in out
    assert Schedule.from_json(path.read_text()).to_json() == answer["schedule_json"]
    rerun = shlex.split(next(line for line in out.splitlines() if "rerun: " in line).split("rerun: ", 1)[1])
    assert rerun[:2] == ["tune-growth", "train"]
    run_dir = tmp_path / "rerun"
    code, printed, err = run_cli(train_main, [*rerun[2:-2], "--out", str(run_dir), "--quiet"])
    assert code == 0, err
    assert json.loads(printed.strip().splitlines()[-1])["val_acc"] == pytest.approx(answer["final_val_acc"], abs=0.02)

    limit = float(trials.loc[trials["is_control"], "compute"].iloc[0]) / 2
    code, out, _ = run_cli(results_main, [str(frontier), "--best-within", f"{limit:g}"])
    within = trials[trials["compute"] <= limit]
    best = within.loc[within["final_val_acc"].idxmax()]
    assert code == 0 and f"trial {best['trial_number']}," in out.splitlines()[1]
    seconds = float(trials["wall_seconds"].max()) + 1
    code, out, _ = run_cli(results_main, [str(frontier), "--best-within", f"{seconds:g}s"])
    best = trials.loc[trials["final_val_acc"].idxmax()]
    assert code == 0 and f"best within {seconds:g} training seconds: trial {best['trial_number']}" in out


@pytest.mark.parametrize("args, message", [
    (["--fastest-to", "1"], "no trial reached val_acc 1; the most accurate is trial "),
    (["--best-within", "1"], "no trial within 1 compute (examples × pixels); the cheapest is trial "),
    (["--best-within", "0.001s"], "no trial within 0.001 training seconds; the cheapest is trial "),
    (["--best-within", "lots"], "--best-within 'lots' is invalid; expected a positive compute"),
    (["--fastest-to", "97"], "--fastest-to 97.0 is invalid; expected a validation accuracy in (0, 1]"),
])
def test_a_question_no_trial_answers_is_one_line_naming_the_nearest(frontier, args, message):
    code, _, err = run_cli(results_main, [str(frontier), *args])
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_the_report_and_the_study_draw_the_fronts_with_their_hypervolumes(frontier, tmp_path):
    from tune_growth.analysis.report import build_report
    from tune_growth.study.__main__ import main as study_main

    page = build_report(frontier, tmp_path / "report", model_plots=False)
    text = page.read_text()
    assert "Fronts against compute: hypervolume" in text and 'id="fronts_compute"' in text
    assert 'id="expected_hypervolume_compute"' in text
    code, _, err = run_cli(study_main, ["--results", str(frontier), "--per-budget", "--seeds", "3",
                                        "--out", str(tmp_path / "refused")])
    assert code == 2 and err.count("\n") == 1 and "searched the budget (--objective frontier)" in err, err
    out = tmp_path / "study"
    code, printed, err = run_cli(study_main, ["--results", str(frontier), "--seeds", "3", "--evals", "2",
                                              "--no-controls", "--out", str(out)])
    assert code == 0, err[-2000:]
    md = (out / "study.md").read_text()
    assert "## Fronts of the frontier searches" in md and "reference point" in md
    assert (out / "fronts_compute.png").is_file() and (out / "expected_hypervolume_compute.png").is_file()
    assert "Fronts against compute" in (out / "study.html").read_text()
    points = pd.read_parquet(out / "front_points.parquet")
    assert len(points) == 6 and set(points["frontier_cost"]) == {"compute"}
    (out / "fronts_compute.png").unlink()
    assert study_main(["--reanalyse", str(out)]) == 0 and (out / "fronts_compute.png").is_file()
    assert (out / "study.md").read_text() == md  # the same hypervolumes from what the study kept


@pytest.mark.parametrize("sampler, cost", [("tpe", "compute"), ("nsga2", "compute"), ("random", "compute"),
                                           ("tpe", "seconds")])
def test_the_frontier_searcher_is_seeded_searches_the_budget_and_resumes_from_its_state(sampler, cost, tmp_path):
    from tune_growth.search import spaces
    from tune_growth.search.searcher import ScheduleSearcher

    space = spaces.load("h1")

    def searcher():
        return ScheduleSearcher(space.fn, dict(space.fixed), "val_acc", "max", sampler=sampler, lag=0, seed=3,
                                frontier=cost, budget_range=(1.0, 20.0), baseline={"hypothesis": "baseline"})

    def drive(s, start, stop):
        for k in range(start, stop):
            config = s.suggest(f"t{k}")
            spent = config.get("budget_epochs", 20.0) * 1e6  # an accuracy and a cost every point differs in
            s.on_trial_complete(f"t{k}", {"val_acc": 0.5 + 0.02 * np.sin(k) + 0.01 * np.log(spent / 1e6),
                                          "compute": spent, "wall_seconds": spent / 1e8, "finished": True})
        return [e.config for e in s.history]

    whole = drive(searcher(), 0, 20)
    assert whole[0] == {"hypothesis": "baseline"}  # the control first, at the top of the range
    budgets = [c["budget_epochs"] for c in whole[1:]]
    assert all(1.0 <= b <= 20.0 for b in budgets) and len(set(budgets)) >= 10  # NSGA-II copies parents' values
    first = searcher()
    drive(first, 0, 12)
    first.save(str(tmp_path / "state.json"))
    resumed = searcher()
    resumed.restore(str(tmp_path / "state.json"))
    assert resumed.frontier == cost and resumed.budget_range == (1.0, 20.0)
    assert drive(resumed, 12, 20) == whole  # the same sequence, resumed or not
    unit = 1e6 if cost == "compute" else 1e-2  # the cost it was told to read
    assert [e.cost for e in resumed.history if e.state == "COMPLETE"][:2] == pytest.approx([20 * unit, budgets[0] * unit])
