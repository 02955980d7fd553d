"""`python -m benchmarks verdict` (or `make verdict`): rerun, from scratch, every search and study
behind the README's verdicts, one dataset after another, each step resumable.

Per dataset (PROTOCOLS): every shipped space is searched on the validation split
(`tune-growth search SPACE`, seed 0, every run to the end), then `tune-growth study --results`
re-runs the best schedule of each hypothesis by validation accuracy, beside the controls, over 5
seeds at every budget of the sweep, measured on the test split. A search whose experiment folder
exists without its trials.parquet is continued with `--resume`; a finished one is skipped; the study
always runs with `--resume`, so its finished runs are kept. Killed at any point, the same command
continues where it stopped. Writes under --out (default results/verdict): DATASET/searches/SPACE/
and DATASET/study/, and DATASET/timing.json with each step's wall seconds; prints one JSON line of
minutes per step.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import CIFAR, emit, require_cifar
from tune_growth.io import atomic_write_text

SPACES = ("baseline", "h1", "h2", "h3", "combined", "random_growing", "anti_h2")

# dataset -> how it is searched and studied. Budgets are epochs of the full training set.
PROTOCOLS = {
    "mnist5k": {"flags": ["--dataset", "mnist5k", "--model", "lenet5"], "spaces": SPACES,
                "search_budget": 20, "trials": 32, "study_budgets": [2, 5, 10, 20], "study_evals": 40},
    # 8x8 images: the builders cannot shrink below 8 px, so an H3 space would only search the
    # baseline's knobs again; the combined space keeps its H3-free combinations (h1+h2).
    "digits": {"flags": ["--dataset", "digits", "--model", "lenet5"],
               "spaces": tuple(s for s in SPACES if s != "h3"),
               "search_budget": 20, "trials": 32, "study_budgets": [2, 5, 10, 20], "study_evals": 40},
    # ResNet-9 x 0.25 trains ~20 s per epoch per run on one core of this 2-core CPU: the searches
    # are 12 trials at 2 epochs (about 6 min each); the study sweeps 1-4 epochs with 10 evaluations
    # a run and leaves out the anti-curricula (the tuned baseline and the random-order control stay),
    # about 1 h 15 min.
    "cifar": {"flags": ["--dataset", "npz", "--data-root", CIFAR, "--model", "resnet9", "--width", "0.25"],
              "spaces": SPACES, "search_budget": 2, "trials": 12, "study_budgets": [1, 2, 4], "study_evals": 10,
              "study_flags": ["--controls", "random_growing", "budgeted"]},
    # the CI smoke: every step of the pipeline once, in about a minute
    "smoke": {"flags": ["--dataset", "digits", "--model", "lenet5"], "spaces": ("h2",),  # its trial 0: the baseline
              "search_budget": 0.5, "trials": 2, "study_budgets": [0.5], "study_evals": 3, "seeds": 3},
}
DEFAULT = ["mnist5k", "digits", "cifar"]


def run(step: str, cmd: list[str], root: Path, timing: dict) -> None:
    """Run one CLI step, its output appended to ROOT/verdict.log; add its wall seconds to
    `timing` and ROOT/timing.json (also when it fails or is interrupted); exit on failure."""
    start, log = time.perf_counter(), root / "verdict.log"
    try:
        with log.open("a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
            f.flush()
            code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
    finally:
        timing[step] = timing.get(step, 0.0) + time.perf_counter() - start
        atomic_write_text(root / "timing.json", json.dumps(timing, indent=1) + "\n")
    if code != 0:
        raise SystemExit(f"step failed with exit code {code}: {' '.join(cmd)} (see {log})")


def finished(exp: Path, trials: int) -> bool:
    """The search in `exp` has all its trials, none of them still running (an interrupted search
    writes its Parquet too)."""
    import pandas as pd

    path = exp / "trials.parquet"
    if not path.is_file():
        return False
    table = pd.read_parquet(path)
    return len(table) >= trials and "status" in table and not (table["status"] == "running").any()


def searches(proto: dict, root: Path, timing: dict) -> None:
    storage = root / "searches"
    for space in proto["spaces"]:
        exp = storage / space
        if finished(exp, proto["trials"]):
            continue
        resume = any(exp.glob("experiment_state-*.json"))
        if exp.is_dir() and not resume:  # killed before Tune saved any state: nothing to resume, start again
            shutil.rmtree(exp)
        cmd = [sys.executable, "-m", "tune_growth", "search", space, *proto["flags"], "--storage", str(storage),
               "--name", space, "--trials", str(proto["trials"]), "--budget", str(proto["search_budget"]),
               "--seed", "0"] + (["--resume"] if resume else [])
        run(f"search {space}", cmd, root, timing)


def study(proto: dict, root: Path, timing: dict, seeds: int) -> None:
    seeds = proto.get("seeds", seeds)
    cmd = [sys.executable, "-m", "tune_growth", "study", "--results", str(root / "searches"), "--seeds", str(seeds),
           "--budgets", *map(str, proto["study_budgets"]), "--evals", str(proto["study_evals"]),
           "--out", str(root / "study"), "--resume", *proto.get("study_flags", [])]
    run("study", cmd, root, timing)


# study.json: the title and targets, so `tune-growth study --reanalyse` of a published folder keeps them
PUBLISHED = ("study.md", "study_budget.png", "expected_best.png", "effects.parquet", "runs.parquet",
             "expected_best.parquet", "study.json")


def publish(root: Path, dest: Path) -> None:
    """Copy a finished study's tables and plots to `dest` (the README links them there)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PUBLISHED:
        if (root / "study" / name).is_file():
            shutil.copyfile(root / "study" / name, dest / name)
    shutil.copyfile(root / "timing.json", dest / "timing.json")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks verdict", description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=DEFAULT, choices=list(PROTOCOLS),
                   help=f"default: {' '.join(DEFAULT)}; smoke: a one-minute run of every step")
    p.add_argument("--phase", choices=("all", "searches", "studies"), default="all")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("results/verdict"))
    p.add_argument("--publish", type=Path, default=Path(__file__).parent / "measured" / "verdict",
                   help="where each finished study's study.md, plots and Parquet are copied (not for smoke)")
    args = p.parse_args(argv)
    if "cifar" in args.datasets:
        require_cifar(", or --datasets without cifar")
    minutes = {}
    for name in args.datasets:
        root = args.out / name
        root.mkdir(parents=True, exist_ok=True)
        timing_path = root / "timing.json"
        try:
            timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
        except json.JSONDecodeError:
            timing = {}
        if args.phase in ("all", "searches"):
            searches(PROTOCOLS[name], root, timing)
        if args.phase in ("all", "studies"):
            study(PROTOCOLS[name], root, timing, args.seeds)
        if args.phase in ("all", "studies") and name != "smoke":
            publish(root, args.publish / name)
        minutes[name] = {"total": round(sum(timing.values()) / 60, 2),
                         **{k: round(v / 60, 2) for k, v in timing.items()}}
        print(f"{name}: {minutes[name]['total']:.1f} min of steps so far ({timing_path})", flush=True)
    emit("verdict", {"minutes": minutes, "out": str(args.out)})


if __name__ == "__main__":
    main()
