"""`python -m benchmarks verdict` (or `make verdict`): rerun, from scratch, every search and study
behind the README's verdicts, one dataset after another, each step resumable.

Per dataset (PROTOCOLS), on equal terms (issue 27): every shipped space (each tuning the same
training knobs) is searched on the validation split at *every* budget of the study, budgets in
compute (full-size epochs of examples x pixels, so a small-image stage trains more examples for
the same cost), the same number of trials per space and budget (seed 0, every run to the end).
Then `tune-growth study --results --per-budget --reselect 3` re-chooses each search's schedule
among its 3 best trials over 3 fresh seeds on validation, and re-runs the chosen schedule of each
hypothesis at the budget it was tuned at, beside its matched controls (random examples for H1, a
random class order for H2, the baseline at the same compute for H3), over the seeds, measured on
the test split, with the declared primary comparisons Holm-corrected.

A search whose experiment folder exists without its trials.parquet is continued with `--resume`;
a finished one is skipped; the study always runs with `--resume`, so its finished runs (and
re-choosing runs) are kept. Killed at any point, the same command continues where it stopped.
The study's run logs are kept (gzipped) in --publish/DATASET/study_logs/ whenever the study step ends
(finished, failed, or interrupted by Ctrl-C or a plain `kill`: the step is sent SIGINT and given a
minute to stop) and merged back on a fresh checkout, so a study spans sessions too.
Writes under --out (default results/verdict): DATASET/searches/SPACE_bBUDGET/ and DATASET/study/,
and DATASET/timing.json with each step's wall seconds; prints one JSON line of minutes per step.
Each finished search's tables are copied at once to --publish/DATASET/searches/ (commit them as
they land): on a fresh checkout the verdict takes those back instead of searching again.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import CIFAR, TINY, cpu_label, emit, require_cifar, require_tiny
from tune_growth.io import atomic_write, atomic_write_text, read_jsonl_by_key
from tune_growth.study import RUNS_LOG, SELECTION_LOG

SPACES = ("baseline", "h1", "h2", "h3", "combined", "random_growing", "anti_h2")
# 50 of Tiny-ImageNet's 200 classes, a seeded draw (seed 0): as many as 2 CPU cores allow, spread
# over the WordNet tree, whose pruned subtree gives H2 its coarse-to-fine order
TINY_CLASSES = ",".join(str(int(c)) for c in sorted(np.random.default_rng(0).choice(200, 50, replace=False)))
COMPUTE = ["--budget-unit", "compute"]
RESELECT = 3  # the study re-chooses each search's schedule among its RESELECT best trials, over 3 seeds

# dataset -> how it is searched and studied. Budgets: full-size epochs of compute, each searched.
# ResNet-9 x 0.25 trains ~20 s per epoch per run on one core of a 2-core CPU: those protocols search
# 12 trials per space and budget at 1, 2 and 4 epochs, and evaluate 10 times a run.
# ResNet-9 runs pinned to fp32: auto would pick bf16 autocast on a bf16-capable CPU (models/registry.py)
# and fp32 elsewhere, and a verdict that spans sessions spans machines; fp32 is exact on every CPU
PINNED = ["--precision", "fp32"]
PROTOCOLS = {
    "mnist5k": {"flags": ["--dataset", "mnist5k", "--model", "lenet5"], "spaces": SPACES,
                "budgets": [2, 5, 10, 20], "trials": 32, "study_evals": 40, "seeds": 8},
    "cifar": {"flags": ["--dataset", "npz", "--data-root", CIFAR, "--model", "resnet9", "--width", "0.25", *PINNED],
              "spaces": SPACES, "budgets": [1, 2, 4], "trials": 12, "study_evals": 10, "seeds": 5},
    "tinyimagenet": {"flags": ["--dataset", "npz", "--data-root", TINY, "--classes", TINY_CLASSES,
                               "--model", "resnet9", "--width", "0.25", *PINNED],
                     "spaces": SPACES, "budgets": [1, 2, 4], "trials": 12, "study_evals": 10, "seeds": 5},
    # mnist5k with 20% of its training labels wrong: does growing (or hard examples first) cope?
    "mnist5k_noise": {"flags": ["--dataset", "mnist5k", "--model", "lenet5", "--label-noise", "0.2"],
                      "spaces": SPACES, "budgets": [2, 10], "trials": 32, "study_evals": 40, "seeds": 8},
    # the CI smoke: every step of the pipeline once, in about a minute
    "smoke": {"flags": ["--dataset", "digits", "--model", "lenet5"], "spaces": ("h2",),  # its trial 0: the baseline
              "budgets": [0.5], "trials": 3, "study_evals": 3, "seeds": 3, "reselect": 2},
}
DEFAULT = ["mnist5k", "cifar", "tinyimagenet", "mnist5k_noise"]


CHILD_GRACE = 60  # seconds an interrupted step gets to stop before it is killed


def wait(child: subprocess.Popen) -> int:
    """The step's exit code. Interrupted while waiting (Ctrl-C, SIGTERM), the step is sent SIGINT,
    as Ctrl-C in a terminal would, so its Ray shuts down and its last log line is whole; it is
    killed if it has not stopped after CHILD_GRACE seconds."""
    try:
        return child.wait()
    except BaseException:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=CHILD_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
        raise


def run(step: str, cmd: list[str], root: Path, timing: dict, dest: Path | None) -> None:
    """Run one CLI step, its output appended to ROOT/verdict.log; add its wall seconds to
    `timing` and ROOT/timing.json, and this CPU's name to the step's in ROOT/machines.json (also
    when it fails or is interrupted), both copied to `dest` when given; exit on failure."""
    start, log = time.perf_counter(), root / "verdict.log"
    try:
        with log.open("a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
            f.flush()
            with subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT) as child:
                code = wait(child)
    finally:
        timing[step] = timing.get(step, 0.0) + time.perf_counter() - start
        atomic_write_text(root / "timing.json", json.dumps(timing, indent=1) + "\n")
        machines = read_json(root / "machines.json")
        machines[step] = sorted(set(machines.get(step, [])) | {cpu_label()})
        atomic_write_text(root / "machines.json", json.dumps(machines, indent=1) + "\n")
        if dest is not None:
            dest.mkdir(parents=True, exist_ok=True)
            for name in ("timing.json", "machines.json"):
                shutil.copyfile(root / name, dest / name)
    if code != 0:
        raise SystemExit(f"step failed with exit code {code}: {' '.join(cmd)} (see {log})")


def read_json(path: Path) -> dict:
    """A small JSON dict written by this module, {} when absent or cut short."""
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def finished(exp: Path, trials: int) -> bool:
    """The search in `exp` has all its trials, none of them still running (an interrupted search
    writes its Parquet too)."""
    import pandas as pd

    path = exp / "trials.parquet"
    if not path.is_file():
        return False
    table = pd.read_parquet(path)
    return len(table) >= trials and "status" in table and not (table["status"] == "running").any()


# what the study reads of a finished search (results/load.py, study/config.py): kept beside the
# published study as each search lands, so a rerun spanning sessions or machines (whose ignored
# results folders do not survive) picks up from the repository instead of searching again
KEPT = ("trials.parquet", "metrics.parquet", "search.json")


def copy_search(src: Path, dest: Path) -> None:
    """Copy a finished search's KEPT files from `src` to `dest`, trials.parquet last (its presence
    marks the copy finished)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in sorted(KEPT, key=lambda n: n == "trials.parquet"):
        shutil.copyfile(src / name, dest / name)


def searches(proto: dict, root: Path, timing: dict, dest: Path | None) -> None:
    """Every space at every budget, the same trials each (equal search effort); each finished
    search's tables copied to DEST/searches (no DEST for the smoke), and taken back from there
    when this machine has not run it."""
    storage, kept = root / "searches", None if dest is None else dest / "searches"
    for budget in proto["budgets"]:
        for space in proto["spaces"]:
            name = f"{space}_b{budget:g}"
            exp = storage / name
            if kept is not None and not finished(exp, proto["trials"]) and finished(kept / name, proto["trials"]):
                shutil.rmtree(exp, ignore_errors=True)
                copy_search(kept / name, exp)
            if finished(exp, proto["trials"]):
                if kept is not None and not finished(kept / name, proto["trials"]):
                    copy_search(exp, kept / name)
                continue
            resume = any(exp.glob("experiment_state-*.json"))
            if exp.is_dir() and not resume:  # killed before Tune saved any state: nothing to resume, start again
                shutil.rmtree(exp)
            cmd = [sys.executable, "-m", "tune_growth", "search", space, *proto["flags"], *COMPUTE, "--storage",
                   str(storage), "--name", name, "--trials", str(proto["trials"]), "--budget", str(budget),
                   "--seed", "0"] + (["--resume"] if resume else [])
            run(f"search {name}", cmd, root, timing, dest)
            if not finished(exp, proto["trials"]):  # a search stopped by Ctrl-C exits 0 with the trials it has
                raise SystemExit(f"search {name} ended before its {proto['trials']} trials finished (interrupted?); "
                                 "run the verdict again to resume it")
            if kept is not None:
                copy_search(exp, kept / name)


# the study's logs of finished runs (study/run.py, study/choose.py), kept gzipped beside the published
# study after every study step, finished or interrupted, and merged back by key on a fresh checkout: a
# ResNet-9 study takes hours on two cores, more than one session, and its --resume reads these
STUDY_LOGS = (RUNS_LOG, SELECTION_LOG)


def merge_jsonl(src: Path, dst: Path) -> None:
    """Add to the log DST the lines of the log SRC whose key DST lacks (a run's key hashes what its
    numbers depend on, so a key in both is the same run); a line cut short by a kill is dropped.
    Either may end .gz (read_jsonl_by_key); a .gz DST is written with no timestamp, so the same
    lines give the same bytes."""
    have, new = read_jsonl_by_key(dst), read_jsonl_by_key(src)
    if set(new) - set(have):
        merged = {**have, **{k: row for k, row in new.items() if k not in have}}
        text = "".join(json.dumps(row) + "\n" for row in merged.values())
        if dst.suffix == ".gz":
            atomic_write(dst, lambda tmp: tmp.write_bytes(gzip.compress(text.encode(), mtime=0)))
        else:
            atomic_write_text(dst, text)


def study(proto: dict, root: Path, timing: dict, seeds: int | None, dest: Path | None) -> None:
    """The study of the searches under ROOT, resumed from its logs here and under DEST/study_logs
    (another machine's), its logs kept there again when it ends, however it ends."""
    seeds = seeds or proto["seeds"]
    flags = ["--per-budget", "--reselect", str(proto.get("reselect", RESELECT)), "--reselect-seeds", "3", *COMPUTE]
    cmd = [sys.executable, "-m", "tune_growth", "study", "--results", str(root / "searches"), "--seeds", str(seeds),
           "--budgets", *map(str, proto["budgets"]), "--evals", str(proto["study_evals"]),
           "--out", str(root / "study"), "--resume", *flags]
    kept = None if dest is None else dest / "study_logs"
    for name in STUDY_LOGS if kept is not None else ():
        merge_jsonl(kept / f"{name}.gz", root / "study" / name)
    try:
        run("study", cmd, root, timing, dest)
    finally:
        for name in STUDY_LOGS if kept is not None else ():
            merge_jsonl(root / "study" / name, kept / f"{name}.gz")


PUBLISHED = ("study.md", "study_budget.png", "expected_best.png", "effects.parquet", "runs.parquet",
             "expected_best.parquet", "study.json", "selection.parquet")


def publish(root: Path, dest: Path) -> None:
    """Copy a finished study's tables and plots to `dest` (the README links them there)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PUBLISHED:
        if (root / "study" / name).is_file():
            shutil.copyfile(root / "study" / name, dest / name)
    for name in ("timing.json", "machines.json"):
        if (root / name).is_file():
            shutil.copyfile(root / name, dest / name)


def exit_on_sigterm() -> None:
    """Make SIGTERM (a plain `kill`, a session's end) a SystemExit, so each step's `finally` keeps
    its timing and study logs as Ctrl-C does; by default Python ends at once and they are lost."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks verdict", description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=DEFAULT, choices=list(PROTOCOLS),
                   help=f"default: {' '.join(DEFAULT)}; smoke: a one-minute run of every step")
    p.add_argument("--phase", choices=("all", "searches", "studies"), default="all")
    p.add_argument("--seeds", type=int, default=None, help="seeds per study run (default: the protocol's)")
    p.add_argument("--out", type=Path, default=Path("results/verdict"))
    # verdict_v2: the rerun on equal terms; measured/verdict/ keeps the first, confounded one (README)
    p.add_argument("--publish", type=Path, default=Path(__file__).parent / "measured" / "verdict_v2",
                   help="where each finished study's study.md, plots and Parquet are copied (not for smoke)")
    args = p.parse_args(argv)
    exit_on_sigterm()
    if "cifar" in args.datasets:
        require_cifar(", or --datasets without cifar")
    if "tinyimagenet" in args.datasets:
        require_tiny(", or --datasets without tinyimagenet")
    minutes = {}
    for name in args.datasets:
        root, dest = args.out / name, None if name == "smoke" else args.publish / name
        root.mkdir(parents=True, exist_ok=True)
        for kept in ("timing.json", "machines.json"):  # a fresh checkout: what earlier machines spent
            if dest is not None and (dest / kept).is_file() and not (root / kept).is_file():
                shutil.copyfile(dest / kept, root / kept)
        timing = read_json(root / "timing.json")
        if args.phase in ("all", "searches"):
            searches(PROTOCOLS[name], root, timing, dest)
        if args.phase in ("all", "studies"):
            study(PROTOCOLS[name], root, timing, args.seeds, dest)
        if args.phase in ("all", "studies") and dest is not None:
            publish(root, dest)
        minutes[name] = {"total": round(sum(timing.values()) / 60, 2),
                         **{k: round(v / 60, 2) for k, v in timing.items()}}
        print(f"{name}: {minutes[name]['total']:.1f} min of steps so far ({root / 'timing.json'})", flush=True)
    emit("verdict", {"minutes": minutes, "out": str(args.out)})


if __name__ == "__main__":
    main()
