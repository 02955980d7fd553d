"""A tiny smoke of every benchmark from the one entry point: each prints its JSON line. No timing
is asserted here; the figures live in the README."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from benchmarks.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "pipeline": ["--repeats", "1"],
    "hypotheses": ["--budget", "1", "--seeds", "1"],
    "utilization": ["--trials", "8", "--budget", "0.5"],
    "loop": ["--repeats", "1", "--no-cifar"],
    "precision": ["--models", "lenet5", "--budget", "0.5", "--seeds", "1"],
    "search_efficiency": ["--trials", "3", "--asha-trials", "3", "--ladder-runs", "7", "--budget", "0.3",
                          "--seeds", "1", "--evals", "3"],
    "time_to_accuracy": ["--seeds", "1", "--no-cifar"],
    "memory": ["--examples", "10000", "--trials", "2"],
    "precompute": ["--no-cifar", "--width", "0.25", "--epochs", "0.25", "--repeats", "1"],
    "finetune": ["--no-cifar", "--width", "0.25", "--pretrain-epochs", "0.5", "--budget", "2.2", "--seeds", "1"],
    "measurement": ["--no-cifar", "--epochs", "0.5", "--repeats", "1"],
    "gpu": ["--repeats", "1", "--epochs", "1"],  # without CUDA: the one "no CUDA" line
    "verdict": ["--datasets", "smoke", "--out", tempfile.mkdtemp(prefix="verdict_smoke_")],
    "rank_fidelity": ["--spaces", "baseline", "h1", "--configs", "3", "--budget", "0.6", "--rung-size", "3",
                      "--out", str(Path(tempfile.gettempdir()) / "rank_fidelity_smoke.jsonl")],
}


def test_every_benchmark_has_a_smoke_case():
    assert set(TINY) == set(BENCHMARKS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_prints_one_json_line(name):
    proc = subprocess.run([sys.executable, "-m", "benchmarks", name, *TINY[name]], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["benchmark"] == name and "context" in line
    if name == "gpu":  # here without CUDA: one line saying so
        assert line["cuda"] == torch.cuda.is_available()
    if name == "search_efficiency":  # every method's median fraction of random search's compute, and the default
        assert set(line["fraction_of_random_compute"]) == {"random", "tpe", "asha_tpe", "budgets_tpe"}
        assert line["default_method"] in line["fraction_of_random_compute"]
        for method, values in line["methods"].items():  # the per-seed values behind each median
            assert len(values["fraction_of_random_compute"]) == len(values["chosen_test_acc"]) == 1
            assert values["total_compute"][0] > 0 and method in line["fraction_within_0.5pt"]
        assert line["methods"]["random"]["total_compute"] == [1.0]  # the unit
    if name == "verdict":  # every step ran: the search, then the study over it, with its verdicts
        out = Path(line["out"]) / "smoke"
        assert set(line["minutes"]["smoke"]) == {"total", "search h2", "study"}
        assert (out / "study" / "runs.parquet").is_file() and "## Verdicts" in (out / "study" / "study.md").read_text()
        assert "## Expected best against search effort" in (out / "study" / "study.md").read_text()


def test_unknown_benchmark_exits_2():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "unknown benchmark 'nope'" in proc.stderr
