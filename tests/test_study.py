"""The study: controls derived from schedules, and a tiny end-to-end study on real Ray."""

import pandas as pd
import pytest

from tune_growth.builders import build_schedule
from tune_growth.data import load_dataset
from tune_growth.schedule import Schedule, Stage
from tune_growth.study.__main__ import main
from tune_growth.study.controls import anti_curriculum, budgeted, class_order_of, random_order

ALL = tuple(range(10))


def test_random_order_keeps_the_stages_and_draws_examples_at_random():
    s = Schedule((Stage(ALL, 5, 28, 0.2), Stage(ALL, None, 28, 0.8)), 10, hypothesis="h1", selection="iconic")
    r = random_order(s)
    assert r.stages == s.stages and r.selection == "random" and r.hypothesis == "random_growing"


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


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist5k")


def test_a_tiny_study_end_to_end(ray_session, mnist, tmp_path, capsys):
    files = []
    for hyp, extra in (("h1", {"h1_selection": "iconic"}), ("h3", {})):
        s = build_schedule({"hypothesis": hyp, "budget_epochs": 1.0, "max_lr": 0.05, **extra}, mnist)
        path = tmp_path / f"{hyp}.json"
        path.write_text(s.to_json())
        files += ["--schedule", str(path)]
    out = tmp_path / "study"
    assert main([*files, "--seeds", "2", "--evals", "8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    runs, effects = pd.read_parquet(out / "runs.parquet"), pd.read_parquet(out / "effects.parquet")
    assert set(runs["label"]) == {"h1", "h3", "baseline", "random_growing", "anti_h1", "budgeted"}
    assert len(runs) == 12 and (runs.groupby("label")["seed"].nunique() == 2).all()
    assert (runs["status"] == "completed").all()
    assert {"baseline", "random_growing"} == set(effects["reference"])
    assert effects["verdict"].str.len().gt(10).all() and (effects["low"] <= effects["high"]).all()
    page = (out / "study.html").read_text()
    assert page.count("<img") == 4 and "Effects with 95% CIs" in page
    assert "| h1: " in (out / "study.md").read_text() and "| h1: " in printed
    before = pd.read_parquet(out / "effects.parquet")
    (out / "effects.parquet").unlink()
    assert main(["--reanalyse", str(out)]) == 0  # the same effects again, from runs.parquet alone
    pd.testing.assert_frame_equal(before, pd.read_parquet(out / "effects.parquet"))


def test_no_budgeted_duplicate_when_the_baseline_already_decays_linearly(mnist, tmp_path):
    from types import SimpleNamespace
    from tune_growth.study.__main__ import collect
    base = build_schedule({"hypothesis": "baseline", "lr_policy": "linear", "budget_epochs": 1.0}, mnist)
    path = tmp_path / "base.json"
    path.write_text(base.to_json())
    args = SimpleNamespace(results=None, schedule=[path], budget=None, no_controls=False)
    assert "budgeted" not in collect(args, mnist)
    path.write_text(build_schedule({"hypothesis": "baseline", "budget_epochs": 1.0}, mnist).to_json())
    assert collect(args, mnist)["budgeted"].lr_policy.name == "linear"


@pytest.mark.parametrize("args, message", [
    ([], "nothing to study"),
    (["--seeds", "1", "--schedule", "x.json"], "--seeds 1 is invalid"),
    (["--results", "/nowhere"], "is not a folder"),
    (["--schedule", "/nowhere.json"], "is not a file"),
    (["--targets", "1.5", "--schedule", "x.json"], "--targets [1.5] are invalid"),
])
def test_study_bad_input_exits_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
