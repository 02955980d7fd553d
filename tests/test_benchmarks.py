"""A tiny smoke of every benchmark from the one entry point: each prints its JSON line, holding
every figure the README quotes from it. No timing is asserted here; the figures live in the README."""

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import torch

from benchmarks.__main__ import BENCHMARKS
from benchmarks.measurement import PROTOCOLS

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
    "frontier": ["--datasets", "smoke", "--out", tempfile.mkdtemp(prefix="frontier_smoke_"),
                 "--publish", tempfile.mkdtemp(prefix="frontier_smoke_kept_")],
    "rank_fidelity": ["--spaces", "baseline", "h1", "--configs", "3", "--budget", "0.6", "--rung-size", "3",
                      "--out", str(Path(tempfile.gettempdir()) / "rank_fidelity_smoke.jsonl")],
}

# What the README's tables quote from each benchmark's JSON line, as key paths ("/" between keys;
# "*": every entry of a dict or list; a number: that list item). Each must be present and finite;
# a path starting "?" may also be None, where the README reads None as "never" or "not reached".
README_KEYS = {
    "pipeline": ["iterator_over_bare", "dataloader_w0_over_iterator", "dataloader_w2_over_iterator",
                 "dataloader_tensor_w0_over_iterator", "dataloader_tensor_w2_over_iterator"],
    "hypotheses": ["results/*/acc_mean", "results/*/acc/*", "results/*/train_seconds_mean",
                   "results/*/total_seconds_first_seed", "?results/*/examples_to_target/*",
                   "?results/*/seconds_to_target/*", "compute_over_baseline/*"],
    "utilization": ["utilization", "wall_seconds", "where_the_wall_goes/*"],
    "loop": ["cases/*/trainer_over_bare"],
    "precision": ["bf16_over_fp32_throughput/*", "rows/*/final_acc_mean", "rows/*/final_acc/*", "auto_picks/*"],
    "time_to_accuracy": ["?cases/*/median_wall_seconds", "?cases/*/median_examples", "?cases/*/median_compute",
                         "cases/*/reached", "cases/*/final_acc/*"],
    "memory": ["small/trial_peak_rss_mb_max", "large/trial_peak_rss_mb_max", "small/driver_peak_rss_mb",
               "large/driver_peak_rss_mb", "trial_anonymous_growth_mb", "dataset_growth_mb",
               "growth_over_dataset_growth", "held_once_per_node"],
    "search_efficiency": ["?fraction_of_random_compute/*", "?fraction_within_0.5pt/*", "?fraction_within_1pt/*",
                          "?methods/*/fraction_of_random_compute/*", "?methods/*/fraction_within_0.5pt/*",
                          "?methods/*/fraction_within_1pt/*", "methods/*/best_val_acc_at_third/*",
                          "methods/*/total_compute/*", "?methods/*/chosen_test_acc/*", "runs_per_search/*"],
    "precompute": ["epoch_seconds_full", "epoch_seconds_cached", "speedup_per_epoch", "cached_run_intercept_seconds",
                   "full_run_intercept_seconds", "setup_seconds"],
    "finetune": ["summary/*/mean_acc"],
    "measurement": [*(f"eval_share/*/{name}/eval_share" for name, _, _ in PROTOCOLS),
                    "eval_share/*/new_over_old_eval_share", "ranking_cache/*/computed_seconds", "ranking_cache/*/cached_seconds",
                    "ranking_cache/*/saved_per_trial_seconds"],
    "rank_fidelity": ["spaces/*/fidelities/*/rho/0", "?spaces/*/fidelities/*/rho/*",
                      "?spaces/*/fidelities/*/rho_other_seed/*", "spaces/*/fidelities/*/discards_best",
                      "spaces/*/fidelities/*/compute_fraction"],
    "gpu": ["cuda"],  # on CUDA, CUDA_README_KEYS too
    "verdict": ["minutes/*/*"],
    "frontier": ["datasets/*/hypervolume/*"],
}
CUDA_README_KEYS = ["loop/trainer_over_bare", "ours_seconds_per_epoch"]


def values_at(line: dict, path: str) -> list:
    """The values at `path` in `line` (README_KEYS' syntax, without the "?"); a missing key fails,
    a None on the way is the value (a rho interval not computed, for one)."""
    nodes = [line]
    for part in path.split("/"):
        found = []
        for node in nodes:
            if node is None:
                found.append(None)
            elif part == "*":
                items = list(node.values()) if isinstance(node, dict) else list(node)
                assert items, f"{path}: nothing under '*'"
                found += items
            elif isinstance(node, list):
                found.append(node[int(part)])
            else:
                assert part in node, f"{path}: no key {part!r} (has {sorted(node)})"
                found.append(node[part])
        nodes = found
    return nodes


def check_readme_keys(line: dict, paths: list[str]) -> None:
    """Every value at each path is present and, when a number, finite (None only on a "?" path)."""
    for path in paths:
        may_be_none = path.startswith("?")
        for value in values_at(line, path.lstrip("?")):
            if value is None:
                assert may_be_none, f"{path} is None"
            elif isinstance(value, (int, float)):
                assert math.isfinite(value), f"{path} = {value}"
            else:
                assert isinstance(value, str) and value, f"{path} = {value!r}: expected a number or a label"


def test_every_benchmark_has_a_smoke_case():
    assert set(TINY) == set(BENCHMARKS) == set(README_KEYS)


def test_the_readme_key_check_finds_a_missing_or_infinite_figure():
    line = {"cases": [{"trainer_over_bare": 1.02}, {"trainer_over_bare": 1.01}], "never": None}
    check_readme_keys(line, ["cases/*/trainer_over_bare", "?never", "?never/*/figure"])
    for bad, message in (({"cases": [{"trainer_over_bare": float("nan")}]}, "nan"), ({"cases": [{}]}, "no key"),
                         ({"cases": [{"trainer_over_bare": None}]}, "is None")):
        with pytest.raises(AssertionError, match=message):
            check_readme_keys(bad, ["cases/*/trainer_over_bare"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_prints_one_json_line(name):
    proc = subprocess.run([sys.executable, "-m", "benchmarks", name, *TINY[name]], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["benchmark"] == name and "context" in line
    check_readme_keys(line, README_KEYS[name] + (CUDA_README_KEYS if name == "gpu" and line["cuda"] else []))
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
        assert set(line["minutes"]["smoke"]) == {"total", "search h2_b0.5", "study"}
        assert (out / "study" / "selection.parquet").is_file()  # each search's schedule re-chosen over fresh seeds
        assert "## Primary comparisons" in (out / "study" / "study.md").read_text()
        assert (out / "study" / "runs.parquet").is_file() and "## Verdicts" in (out / "study" / "study.md").read_text()
        assert "## Expected best against search effort" in (out / "study" / "study.md").read_text()
    if name == "frontier":  # the space's front, its figure and table, and the search kept
        kept = Path(TINY[name][-1]) / "smoke"
        assert set(line["datasets"]["smoke"]["hypervolume"]) == {"h1"}
        assert (kept / "fronts_compute.png").is_file() and "| h1 | 2 |" in (kept / "fronts.md").read_text()
        assert (kept / "searches" / "h1" / "trials.parquet").is_file()


def test_unknown_benchmark_exits_2():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "unknown benchmark 'nope'" in proc.stderr


def finished_search(folder: Path, trials: int) -> None:
    """What the study reads of a finished search: its three tables (benchmarks/verdict.py KEPT)."""
    import pandas as pd

    folder.mkdir(parents=True)
    pd.DataFrame({"trial_id": range(trials), "status": ["completed"] * trials}).to_parquet(folder / "trials.parquet")
    pd.DataFrame({"trial_id": [0], "val_acc": [0.5]}).to_parquet(folder / "metrics.parquet")
    (folder / "search.json").write_text('{"model": "lenet5"}')


def test_the_verdict_keeps_each_finished_search_and_takes_it_back_on_a_fresh_checkout(tmp_path, monkeypatch):
    from benchmarks import verdict

    monkeypatch.setattr(verdict, "run", lambda *a, **k: pytest.fail(f"a finished search was run again: {a[0]}"))
    proto = {"spaces": ("h1", "h2"), "budgets": [2], "trials": 3, "flags": []}
    here, dest = tmp_path / "machine_a", tmp_path / "published"
    finished_search(here / "searches" / "h1_b2", 3)  # ran on this machine: copied to the published folder
    finished_search(dest / "searches" / "h2_b2", 3)  # ran on another one: taken back, not searched again
    (here / "searches" / "h2_b2").mkdir(parents=True)  # ... over an interrupted start here
    verdict.searches(proto, here, {}, dest)
    for name in ("h1_b2", "h2_b2"):
        for kept in verdict.KEPT:
            assert (here / "searches" / name / kept).is_file() and (dest / "searches" / name / kept).is_file()
    assert verdict.finished(here / "searches" / "h2_b2", 3)
    started = []  # a published search cut short is not finished: searched again here, then kept

    def search(step, *args):
        started.append(step)
        finished_search(here / "searches" / "h1_b5", 3)

    monkeypatch.setattr(verdict, "run", search)
    finished_search(dest / "searches" / "h1_b5", 2)
    verdict.searches({**proto, "budgets": [5], "spaces": ("h1",)}, here, {}, dest)
    assert started == ["search h1_b5"] and verdict.finished(dest / "searches" / "h1_b5", 3)


@pytest.mark.parametrize("stop", ["ctrl_c", "sigterm"])
def test_the_verdict_keeps_the_study_logs_and_merges_them_back_by_key(tmp_path, monkeypatch, stop):
    """An interrupted study's finished runs survive a fresh checkout: kept under study_logs when the
    step ends (also by Ctrl-C or a plain kill), merged back by key before the next study step."""
    import gzip
    import json

    from benchmarks import verdict

    here, dest = tmp_path / "machine_b", tmp_path / "published"
    line = lambda key: json.dumps({"key": key, "records": []}) + "\n"  # noqa: E731
    (dest / "study_logs").mkdir(parents=True)
    kept_runs = dest / "study_logs" / f"{verdict.RUNS_LOG}.gz"  # kept gzipped: under a MiB in the repository
    kept_runs.write_bytes(gzip.compress((line("a") + line("b") + '{"key": "c", "rec').encode()))  # c cut short
    (here / "study").mkdir(parents=True)
    (here / "study" / verdict.RUNS_LOG).write_text(line("b") + line("d"))
    seen = {}

    def study(step, cmd, root, timing, dest):
        seen["runs"] = set(verdict.read_jsonl_by_key(root / "study" / verdict.RUNS_LOG))
        (root / "study" / verdict.SELECTION_LOG).write_text(line("s"))
        if stop == "ctrl_c":
            raise KeyboardInterrupt  # the step stopped by Ctrl-C: its logs are kept all the same
        os.kill(os.getpid(), signal.SIGTERM)  # ... or by a plain kill, which main() turns into SystemExit
        time.sleep(5)  # the handler raises before this ends

    monkeypatch.setattr(verdict, "run", study)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        verdict.exit_on_sigterm()
        with pytest.raises(KeyboardInterrupt if stop == "ctrl_c" else SystemExit):
            verdict.study({"seeds": 2, "budgets": [2], "study_evals": 3}, here, {}, None, dest)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen["runs"] == {"a", "b", "d"}
    kept = gzip.decompress(kept_runs.read_bytes()).decode().splitlines()
    assert [json.loads(k)["key"] for k in kept] == ["a", "b", "d"]  # each run once, the cut line dropped
    assert set(verdict.read_jsonl_by_key(dest / "study_logs" / f"{verdict.SELECTION_LOG}.gz")) == {"s"}


def test_an_interrupted_verdict_step_is_stopped_as_ctrl_c_would_and_still_timed(tmp_path):
    """SIGTERM to the verdict while a step runs: the step gets SIGINT (its Ray shuts down, its logs
    close), the step's seconds and CPU are still recorded, and the verdict exits 143."""
    from benchmarks import verdict

    flag = tmp_path / "stopped"
    script = (f"import pathlib, time\ntry:\n    print('started', flush=True); time.sleep(60)\n"
              f"except KeyboardInterrupt:\n    pathlib.Path({str(flag)!r}).write_text('by SIGINT')\n    raise")
    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        verdict.exit_on_sigterm()
        timer.start()
        with pytest.raises(SystemExit) as stopped:
            verdict.run("study", [sys.executable, "-c", script], tmp_path, {}, None)
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert flag.read_text() == "by SIGINT" and "started" in (tmp_path / "verdict.log").read_text()
    assert json.loads((tmp_path / "timing.json").read_text())["study"] > 1.5
    assert json.loads((tmp_path / "machines.json").read_text())["study"] == [verdict.cpu_label()]
