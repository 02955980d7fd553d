"""The study: controls derived from schedules, and a tiny end-to-end study on real Ray."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from scripts import run_json_script

from tune_growth.schedule.builders import build_schedule
from tune_growth.schedule.core import Schedule, Stage
from tune_growth.study.__main__ import main
from tune_growth.study.controls import anti_curriculum, budgeted, class_order_of, random_order

ALL = tuple(range(10))


def test_random_order_keeps_the_stages_and_draws_examples_at_random():
    s = Schedule((Stage(ALL, 5, 28, 0.2), Stage(ALL, None, 28, 0.8)), 10, hypothesis="h1", selection="iconic")
    r = random_order(s)
    assert r.stages == s.stages and r.selection == "random" and r.hypothesis == "random_growing"


def test_the_random_class_order_keeps_the_class_counts_and_draws_the_classes_at_random(mnist):
    from tune_growth.study.controls import random_classes
    s = build_schedule({"hypothesis": "h2", "stages": 3, "h2_start": 2}, mnist)
    r = random_classes(s)
    assert [len(st.classes) for st in r.stages] == [len(st.classes) for st in s.stages]
    assert [(st.per_class, st.image_size, st.share) for st in r.stages] == [(st.per_class, st.image_size, st.share)
                                                                            for st in s.stages]
    assert all(set(a.classes) <= set(b.classes) for a, b in zip(r.stages, r.stages[1:]))  # still a growing set
    assert class_order_of(r) != class_order_of(s) and r == random_classes(s) and r.hypothesis == "random_classes"
    assert random_classes(s, seed=1) != r


def test_anti_curriculum_reverses_the_class_order_and_the_iconic_ranking():
    s = Schedule((Stage((3, 7), None, 28, 0.1), Stage((1, 3, 5, 7), None, 28, 0.2), Stage(ALL, None, 28, 0.7)), 10,
                 hypothesis="h2")
    assert class_order_of(s) == [3, 7, 1, 5, 0, 2, 4, 6, 8, 9]
    anti = anti_curriculum(s)
    assert anti.stages[0].classes == (8, 9) and anti.stages[1].classes == (4, 6, 8, 9)  # joined last, now first
    assert anti.stages[2].classes == ALL and anti.hypothesis == "anti_h2"
    iconic = Schedule((Stage(ALL, 1, 28, 0.2), Stage(ALL, None, 28, 0.8)), 10, hypothesis="h1", selection="iconic")
    assert anti_curriculum(iconic).selection == "anti_iconic"
    assert anti_curriculum(random_order(iconic)) is None  # nothing to reverse
    assert budgeted(Schedule((Stage(ALL, None, 28, 1.0),), 10)).lr_policy.name == "linear"


def test_a_tiny_study_end_to_end(ray_session, mnist, tmp_path, capsys):
    s = build_schedule({"hypothesis": "h1", "budget_epochs": 1.0, "max_lr": 0.05, "h1_selection": "iconic"}, mnist)
    path = tmp_path / "h1.json"
    path.write_text(s.to_json())
    out = tmp_path / "study"
    args = ["--schedule", str(path), "--seeds", "3", "--evals", "6", "--out", str(out)]
    assert main([*args, "--budgets", "0.25", "0.5"]) == 0
    captured = capsys.readouterr()
    assert "warning: 3 seeds" in captured.err  # below 5: run, with a warning
    runs, effects = pd.read_parquet(out / "runs.parquet"), pd.read_parquet(out / "effects.parquet")
    assert set(runs["label"]) == {"h1", "baseline", "random_growing", "anti_h1", "budgeted"}
    assert len(runs) == 30 and (runs.groupby(["label", "budget"])["seed"].nunique() == 3).all()
    assert sorted(runs["budget"].unique()) == [0.25, 0.5] and (runs["status"] == "completed").all()
    budgets = {b: Schedule.from_json(j).budget_epochs for b, j in zip(runs["budget"], runs["schedule_json"])}
    assert budgets == {0.25: 0.25, 0.5: 0.5}  # each run at its budget, the stages' shares kept
    # measured on test at every record; trained on the training part the searches use (10% held out)
    assert runs["final_test_acc"].between(0.2, 1).all() and runs["final_val_acc"].between(0.2, 1).all()
    curves = [json.loads(c) for c in runs["curve_json"]]
    assert all(len(c) >= 6 and all(acc is not None for _, _, acc in c) for c in curves)
    assert (runs["cpus"] == 1).all() and (runs["gpus"] == 0).all() and (runs["eval_seconds"] > 0).all()
    assert {"baseline", "random_growing"} == set(effects["reference"]) and set(effects["budget"]) == {0.25, 0.5}
    assert (effects["method"].str.startswith("paired t")).all()  # every run shares its seeds with its reference
    assert effects["verdict"].str.len().gt(10).all() and (effects["low"] <= effects["high"]).all()
    page = (out / "study.html").read_text()
    assert page.count("<img") == 5 and "Verdicts" in page and "<details>" in page  # every effect, folded
    assert page.index("The answer: primary comparisons") < page.index("<img") < page.index("Every effect")
    assert page.index('id="study_budget"') < page.index('id="study_accuracy"')  # the effect against budget first
    assert "tuned baseline" not in page and "baseline (not tuned by a search)" in page  # no search tuned it here
    md = (out / "study.md").read_text()
    assert "## Effect against budget" in md and "| schedule | 0.25 epochs | 0.5 epochs |" in md
    # the baseline is the builders' (no search tuned it), so nothing calls it tuned (issue 30)
    assert "h1 against the baseline (not tuned by a search): final accuracy: " in md and "tuned baseline" not in md
    assert "h1 against the baseline (not tuned by a search)" in captured.out
    lines = (out / "runs.jsonl").read_text().count("\n")
    assert lines == 30
    # resumed with a budget already run: nothing trains again, the same numbers come out
    assert main([*args, "--budgets", "0.5", "--resume"]) == 0
    assert (out / "runs.jsonl").read_text().count("\n") == lines
    again = pd.read_parquet(out / "runs.parquet")
    mine = runs[runs["budget"] == 0.5].reset_index(drop=True)
    pd.testing.assert_frame_equal(again[mine.columns], mine)
    assert main([*args, "--budgets", "0.5"]) == 2  # a study is there: --resume or another --out
    assert "pass --resume" in capsys.readouterr().err
    before = pd.read_parquet(out / "effects.parquet")
    (out / "effects.parquet").unlink()
    assert main(["--reanalyse", str(out)]) == 0  # the same effects again, from runs.parquet alone
    pd.testing.assert_frame_equal(before, pd.read_parquet(out / "effects.parquet"))


def test_no_budgeted_duplicate_when_the_baseline_already_decays_linearly(mnist, tmp_path):
    from tune_growth.study.__main__ import collect, parser
    from tune_growth.study.config import study_config
    base = build_schedule({"hypothesis": "baseline", "lr_policy": "linear", "budget_epochs": 1.0}, mnist)
    path = tmp_path / "base.json"
    path.write_text(base.to_json())
    args = study_config(parser().parse_args(["--schedule", str(path), "--out", str(tmp_path / "study")]))
    assert "budgeted" not in collect(args, mnist)
    path.write_text(build_schedule({"hypothesis": "baseline", "budget_epochs": 1.0}, mnist).to_json())
    assert collect(args, mnist)["budgeted"].lr_policy.name == "linear"


def test_the_random_order_control_matches_h1_when_h1_is_studied(mnist, tmp_path):
    from tune_growth.study.__main__ import collect, parser
    from tune_growth.study.config import study_config
    files = ["--out", str(tmp_path / "study")]
    for name, params in (("combo", {"hypothesis": "h1+h2", "h1_start": 3}), ("h1", {"hypothesis": "h1", "stages": 4})):
        path = tmp_path / f"{name}.json"
        path.write_text(build_schedule({**params, "budget_epochs": 1.0}, mnist).to_json())
        files += ["--schedule", str(path)]
    entries = collect(study_config(parser().parse_args(files)), mnist)  # h1+h2 comes first, and also grows the examples
    assert entries["random_growing"].stages == entries["h1"].stages
    assert entries["random_growing"].selection == "random"
    assert {"anti_h1+h2", "budgeted", "random_classes"} <= set(entries)  # every control by default
    assert [len(st.classes) for st in entries["random_classes"].stages] == [len(st.classes)
                                                                            for st in entries["h1+h2"].stages]
    fewer = collect(study_config(parser().parse_args([*files, "--controls", "random_growing"])), mnist)
    assert set(fewer) == {"h1+h2", "h1", "baseline", "random_growing"}


def test_the_equal_compute_control_spends_the_compute_of_its_schedule(ray_session, mnist, tmp_path):
    # H3's matched control: the baseline at H3's compute. Planned at an epoch budget, then run:
    # both spend the same examples x pixels (within 1%) at every budget of the sweep.
    h3 = build_schedule({"hypothesis": "h3", "budget_epochs": 1.0, "max_lr": 0.05, "h3_start": 0.5,
                         "early_share": 0.4, "batch_size": 16}, mnist)  # 100+ steps: half a step is < 1%
    path = tmp_path / "h3.json"
    path.write_text(h3.to_json())
    out = tmp_path / "study"
    assert main(["--schedule", str(path), "--seeds", "3", "--evals", "2", "--out", str(out), "--budgets", "0.5", "1",
                 "--controls", "equal_compute", "--mlflow"]) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    from mlflow.tracking import MlflowClient  # --mlflow: every run in MLflow too, in OUT/mlflow.db
    client = MlflowClient(f"sqlite:///{out.resolve() / 'mlflow.db'}")
    logged = client.search_runs([client.get_experiment_by_name("study study").experiment_id])
    assert len(logged) == len(runs) == 18
    by_key = {r.data.tags["study_run"]: r for r in logged}
    for row in runs.itertuples():
        run = by_key[f"{row.label}|{row.budget:g}|{row.seed}"]
        assert run.data.metrics["final_test_acc"] == pytest.approx(row.final_test_acc)
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "test_acc")) == [
            int(c) for c, _, a in json.loads(row.curve_json) if a is not None]
    assert set(runs["label"]) == {"h3", "baseline", "baseline_at_h3"}
    mean = runs.groupby(["budget", "label"])["compute"].mean().unstack()
    assert ((mean["baseline_at_h3"] / mean["h3"] - 1).abs() < 0.01).all(), mean
    assert (mean["h3"] < 0.9 * mean["baseline"]).all()  # small images cost less: the plain baseline spends more
    effects = pd.read_parquet(out / "effects.parquet")
    assert {"baseline", "baseline_at_h3"} <= set(effects.loc[effects["label"] == "h3", "reference"])
    assert "h3 against the equal-compute baseline (h3's compute)" in (out / "study.md").read_text()


def test_a_study_at_a_compute_budget_gives_every_schedule_the_same_compute(mnist, tmp_path):
    from tune_growth.study.__main__ import collect, parser
    from tune_growth.study.config import study_config
    from tune_growth.train.config import RunConfig
    from tune_growth.train.trainer import Trainer
    path = tmp_path / "h3.json"
    path.write_text(build_schedule({"hypothesis": "h3", "budget_epochs": 1.0, "h3_start": 0.5}, mnist).to_json())
    args = ["--schedule", str(path), "--out", str(tmp_path / "study"), "--budget-unit", "compute"]
    entries = collect(study_config(parser().parse_args(args)), mnist)
    assert "baseline_at_h3" not in entries  # at a compute budget the baseline already spends H3's compute
    planned = {}
    for label in ("h3", "baseline"):
        trainer = Trainer(entries[label], mnist, RunConfig(device="cpu", cache_dir=str(tmp_path)))
        planned[label] = sum(n * st.image_size ** 2 * entries[label].batch_size
                             for n, st in zip(trainer.stage_steps, entries[label].stages))
    assert abs(planned["h3"] / planned["baseline"] - 1) < 0.01


@pytest.mark.parametrize("args, message", [
    ([], "nothing to study"),
    (["--seeds", "2", "--schedule", "x.json"], "--seeds 2 is invalid; expected >= 3"),
    (["--budgets", "0", "2", "--schedule", "x.json"], "--budgets 0 2 are invalid"),
    (["--budgets", "2", "--budget", "5", "--schedule", "x.json"], "--budget 5 and --budgets are both given"),
    (["--label-noise", "1.5", "--schedule", "x.json"], "label noise 1.5 is invalid"),
    (["--results", "/nowhere"], "is not a folder"),
    (["--schedule", "/nowhere.json"], "is not a file"),
    (["--targets", "1.5", "--schedule", "x.json"], "--targets [1.5] are invalid"),
    (["--gpus-per-run", "lots", "--schedule", "x.json"], "--gpus-per-run 'lots' is invalid"),
    (["--val-fraction", "1.2", "--schedule", "x.json"], "validation fraction 1.2 is invalid"),
])
def test_study_bad_input_exits_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_a_bad_budget_unit_is_refused_while_parsing(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--budget-unit", "pixels", "--schedule", "x.json"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and "invalid choice: 'pixels'" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without GPUs")
def test_study_refuses_gpus_on_a_machine_without_any(capsys):
    assert main(["--gpus-per-run", "1", "--schedule", "x.json"]) == 2
    assert "asks for GPUs but this machine has none" in capsys.readouterr().err


def _search_json(folder, newer=False, root=None, **overrides):
    folder.mkdir(parents=True)
    spec = {"name": "mnist5k", "root": root, "download": False, "image_size": None, "classes": [0, 1, 2, 3, 4],
            "val_fraction": 0.2, **({"label_noise": 0.0} if newer else {})}  # older search.json lack label_noise
    settings = {"dataset": spec, "model": "cnn", "width": 0.5, "precision": "fp32", "pretrained": None, **overrides}
    (folder / "search.json").write_text(json.dumps(settings))
    (folder / "trials.parquet").write_bytes(b"")  # marks the folder as an experiment


def test_the_study_runs_with_the_searches_settings(tmp_path):
    from types import SimpleNamespace

    from tune_growth.study.config import resolve_settings

    _search_json(tmp_path / "results" / "h1")
    _search_json(tmp_path / "results" / "h2", newer=True)  # the same footing: a field added since, at its default
    args = SimpleNamespace(results=tmp_path / "results", dataset=None, data_root=None, val_fraction=None,
                           label_noise=None, model=None, width=None, precision=None, pretrained=None)
    spec, settings = resolve_settings(args)
    assert spec.classes == (0, 1, 2, 3, 4) and spec.val_fraction == 0.2 and spec.name == "mnist5k"
    assert spec.label_noise == 0.0  # what the title and every run read (StudyConfig.data), not a mutated Namespace
    assert (settings["model"], settings["width"], settings["precision"]) == ("cnn", 0.5, "fp32")
    explicit = SimpleNamespace(**{**vars(args), "val_fraction": 0.1, "model": "lenet5"})
    spec, settings = resolve_settings(explicit)
    assert spec.val_fraction == 0.1 and settings["model"] == "lenet5"
    _search_json(tmp_path / "results" / "h3", precision="bf16")
    with pytest.raises(ValueError, match="differ in precision"):
        resolve_settings(SimpleNamespace(**{**vars(args), "precision": None}))


def test_one_data_folder_spelled_two_ways_is_one_footing(tmp_path):
    """Searches record their --data-root resolved; older ones kept the spelling they were given
    (the CIFAR verdict's `benchmarks/../../shared/...`): the study compares them resolved."""
    from types import SimpleNamespace

    from tune_growth.study.config import resolve_settings

    (tmp_path / "data").mkdir()
    _search_json(tmp_path / "results" / "h1", root=str(tmp_path / "bench" / ".." / "data"))
    _search_json(tmp_path / "results" / "h2", root=str(tmp_path / "data"))
    args = SimpleNamespace(results=tmp_path / "results", dataset=None, data_root=None, val_fraction=None,
                           label_noise=None, model=None, width=None, precision=None, pretrained=None)
    assert resolve_settings(args)[0].root == str((tmp_path / "data").resolve())
    _search_json(tmp_path / "results" / "h3", root=str(tmp_path / "other"))
    with pytest.raises(ValueError, match="differ in dataset"):
        resolve_settings(args)


@pytest.mark.slow
def test_each_budget_studies_the_schedules_tuned_at_it_rechosen_over_fresh_seeds(ray_session, mnist, tmp_path,
                                                                                   capsys):
    from conftest import tiny_search

    from tune_growth.results.export import export, read_experiment
    from tune_growth.search.run import run_search

    results, searched = tmp_path / "results", {}
    for budget in (0.3, 0.6):  # the h1 space at two budgets: its baseline control and two H1 trials each
        opts = tiny_search(results, f"h1_at_{budget:g}", "h1", trials=3, budget_epochs=budget, evals=2)
        run_search(opts, mnist)
        export(opts.experiment_dir)
        searched[budget] = set(read_experiment(opts.experiment_dir)[0]["schedule_json"])
    out = tmp_path / "study"
    args = ["--results", str(results), "--per-budget", "--reselect", "2", "--reselect-seeds", "2", "--seeds", "3",
            "--evals", "2", "--controls", "random_growing", "--out", str(out)]
    assert main(args) == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["budget"].unique()) == [0.3, 0.6]
    for row in runs[runs["label"].isin(["h1", "baseline"])].itertuples():  # the schedule searched at that budget
        assert row.schedule_json in searched[row.budget], (row.label, row.budget)
    picked = pd.read_parquet(out / "selection.parquet")
    assert set(zip(picked["hypothesis"], picked["budget"])) == {(h, b) for h in ("h1", "baseline") for b in (0.3, 0.6)}
    assert (picked.groupby(["hypothesis", "budget"])["chosen"].sum() == 1).all()
    assert (picked.groupby(["hypothesis", "budget"]).size() == [1, 1, 2, 2]).all()  # the baseline: one trial each
    logged = [json.loads(line) for line in (out / "selection.jsonl").read_text().splitlines()]
    for r in picked.itertuples():  # each candidate's mean over its own budget's fresh seeds, never pooled
        own = [x["records"][-1]["val_acc"] for x in logged if x["label"] == f"{r.hypothesis} @{r.budget:g} candidate "
               f"{r.candidate}" and x["budget"] == r.budget]
        assert len(own) == 2 and r.mean_val_acc == pytest.approx(np.mean(own)) and all(x["seed"] >= 1000 for x in logged)
    for (h, b), group in picked.groupby(["hypothesis", "budget"]):  # the best mean over the fresh seeds wins
        best = group.loc[group["mean_val_acc"].idxmax()]
        assert best["chosen"] and runs.loc[(runs["label"] == h) & (runs["budget"] == b), "schedule_json"].eq(
            best["schedule_json"]).all()
    assert "each tuned at its own" in capsys.readouterr().out
    assert main([*args[:-1], str(tmp_path / "other"), "--budgets", "0.3", "5"]) == 2
    assert "--budgets 5 were not searched" in capsys.readouterr().err


GPU_STUDY = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    import pandas as pd
    import ray
    from ray.cluster_utils import Cluster
    from tune_growth.schedule.builders import build_schedule
    from tune_growth.data import load_dataset
    from tune_growth.study.__main__ import main
    tmp = Path(sys.argv[1])
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 1})  # GPUs declared, not real
    ray.init(address=cluster.address)
    schedule = build_schedule({"hypothesis": "h3", "budget_epochs": 0.25, "max_lr": 0.05}, load_dataset("mnist5k"))
    (tmp / "h3.json").write_text(schedule.to_json())
    given = {}
    for gpus in ("0.5", "auto"):
        out = tmp / f"study_{gpus}"
        args = ["--schedule", str(tmp / "h3.json"), "--seeds", "3", "--evals", "2", "--no-controls", "--out", str(out),
                "--address", cluster.address, "--gpus-per-run", gpus]
        assert main(args) == 0
        runs = pd.read_parquet(out / "runs.parquet")
        given[gpus] = sorted(set(zip(runs["cpus"], runs["gpus"])))
    print(json.dumps(given), flush=True)
    ray.shutdown()
    cluster.shutdown()
''')


@pytest.mark.slow
def test_study_runs_ask_for_the_gpus_the_cluster_has(tmp_path):
    given = run_json_script(GPU_STUDY, tmp_path)
    assert given == {"0.5": [[1.0, 0.5]], "auto": [[1.0, 1.0]]}  # fractions share a GPU; auto takes one per run
