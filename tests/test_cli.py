"""The one command (`tune-growth`, `python -m tune_growth`), the wheel a non-editable install gets
(its console script and the shipped spaces, loaded outside the source tree), and the study's
`--hypotheses` (the builders' default schedules, no JSON files)."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tune_growth.__main__ import COMMANDS, main
from tune_growth.data import load_dataset
from tune_growth.study.__main__ import collect, parser
from tune_growth.study.config import study_config

ROOT = Path(__file__).resolve().parents[1]
SPACES = ("baseline", "h1", "h2", "h3", "combined", "random_growing", "anti_h2", "finetune", "_common")


def test_help_lists_every_subcommand_with_a_line_and_an_example(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert set(COMMANDS) == {"train", "search", "study", "report", "results", "check-cluster"}
    for name, (_, what, example) in COMMANDS.items():
        assert f"  {name}" in text and what in text and example in text


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_subcommand_is_its_module(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out


def test_an_unknown_subcommand_is_one_line_and_exit_2(capsys):
    assert main(["serach"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown command 'serach'" in err and "search" in err


def test_python_dash_m_tune_growth_runs_the_same(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tune_growth", "check-cluster", str(ROOT / "cluster.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 and "valid" in proc.stdout, proc.stderr[-2000:]


@pytest.mark.slow
def test_the_wheel_ships_the_spaces_and_its_console_script_runs_outside_the_source_tree(tmp_path):
    src = tmp_path / "src"  # build from a copy: pip's in-tree build would leave build/ in the checkout
    for folder in ("tune_growth", "search_spaces"):  # the package and its shipped spaces (pyproject's package-dir)
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True, timeout=600, capture_output=True)
    wheel = next((tmp_path / "dist").glob("tune_growth-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"tune_growth/search/spaces/{s}.py" for s in SPACES} <= names
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, timeout=600, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import json, tune_growth; from tune_growth.search import spaces; s = spaces.load('h1'); "
            "print(json.dumps({'file': tune_growth.__file__, 'path': str(s.path), 'hypothesis': s.hypothesis, "
            "'available': spaces.available()}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(str(site)) and out["path"].startswith(str(site)) and out["hypothesis"] == "h1"
    assert {"baseline", "h1", "h2", "h3", "combined"} <= set(out["available"])
    script = site / "bin" / "tune-growth"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120)
    assert proc.returncode == 0 and all(f"  {name}" in proc.stdout for name in COMMANDS), proc.stderr[-2000:]


def test_study_hypotheses_builds_the_default_schedules_on_the_studys_dataset(tmp_path):
    data = load_dataset("mnist5k")  # no schedule JSON file is written for it
    config = study_config(parser().parse_args(["--hypotheses", "h1", "h3", "--set", "stages=2", "--budget", "4",
                                               "--out", str(tmp_path)]))
    entries = collect(config, data)
    assert {"h1", "h3", "baseline", "random_growing", "budgeted"} <= set(entries)
    assert len(entries["h1"].stages) == 2 and entries["h3"].stages[0].image_size < data.image_size
    # every schedule at the study's budget, but H3's equal-compute baseline: at H3's smaller compute
    assert {s.budget_epochs for label, s in entries.items() if label != "baseline_at_h3"} == {4.0}
    assert entries["baseline_at_h3"].budget_epochs < 4.0 and "baseline_at_h1" not in entries
    with pytest.raises(Exception, match="--hypotheses h9 is invalid"):
        collect(study_config(parser().parse_args(["--hypotheses", "h9", "--out", str(tmp_path)])), data)
