"""`python -m tune_growth.train`: a real run writes its files and a JSON summary; bad input exits 2."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from tune_growth.schedule.core import Schedule
from tune_growth.train.cli import main


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tune_growth.train.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_train_cli_runs_and_writes_results(tmp_path):
    out = tmp_path / "run"
    proc = cli("--hypothesis", "h1+h3", "--budget", "1", "--lr", "0.05", "--set", "batch_size=128",
               "--set", "h1_selection=diverse", "--evals", "4", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed" and 0.5 < summary["test_acc"] <= 1.0 and 0.5 < summary["val_acc"] <= 1.0
    assert 0 < summary["train_seconds"] < summary["seconds"] and summary["eval_seconds"] > 0
    assert summary["schedule"].startswith("3 stages: 1/cls@16px")
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert {"step", "examples", "epoch", "stage", "image_size", "classes_seen", "per_class", "lr", "train_loss",
            "test_loss", "test_acc", "test_loss_seen", "test_acc_seen", "val_loss", "val_acc", "val_loss_seen",
            "val_acc_seen", "wall_seconds", "eval_seconds", "compute",
            "status"} <= set(metrics.columns)
    assert metrics["stage"].tolist() == sorted(metrics["stage"]) and metrics["status"].iloc[-1] == "completed"
    schedule = Schedule.from_json((out / "schedule.json").read_text())
    assert schedule.selection == "diverse" and summary["schedule"] == schedule.describe()
    assert "stage=" in proc.stderr  # the progress bar shows stage, size, loss and accuracy

    again = tmp_path / "again"  # the written schedule runs as it is
    proc = cli("--schedule", str(out / "schedule.json"), "--evals", "1", "--out", str(again), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["test_acc"] == summary["test_acc"]


@pytest.mark.parametrize("args, message", [
    (["--dataset", "mnist6k"], "invalid choice: 'mnist6k'"),
    (["--hypothesis", "h9"], "invalid choice: 'h9'"),
    (["--lr", "-1"], "--lr '-1' is invalid"),
    (["--set", "stages"], "--set 'stages' is invalid"),
    (["--set", "stages=many"], "--set 'stages=many' is invalid"),
    (["--hypothesis", "h1", "--set", "stages=1"], "stages=1"),
    (["--dataset", "cifar10", "--data-root", "/nonexistent/cifar"], "'/nonexistent/cifar' is not a folder"),
    (["--schedule", "/nonexistent.json"], "is not a file"),
    (["--precision", "fp8"], "invalid choice: 'fp8'"),
    (["--budget-unit", "pixels"], "invalid choice: 'pixels'"),
    (["--val-fraction", "1"], "--val-fraction 1.0 is invalid"),
    (["--device", "tpu"], "device 'tpu' is invalid"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, message, tmp_path, capsys):
    out = tmp_path / "out"
    try:
        code = main([*args, "--out", str(out)])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()


def test_bad_input_through_the_real_command(tmp_path):
    proc = cli("--model", "vgg", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown model 'vgg'" in proc.stderr
