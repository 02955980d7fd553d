"""hypotheses: the baseline (one stage, all data, full size) against H1, H2 and H3 schedules at the
same budget, lenet5 on mnist5k with the builders' default parameters and the LR finder's max LR.

Reports per schedule: final test accuracy (mean and each seed), training wall seconds, examples,
compute (examples x pixels) and the first examples/seconds at which test accuracy reached the
target. The baseline's target: >= 97% test accuracy, well under a minute.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from benchmarks.common import emit, whole_train
from tune_growth.schedule.builders import build_schedule
from tune_growth.train.config import RunConfig
from tune_growth.train.records import first_reaching
from tune_growth.train.trainer import Trainer

HYPOTHESES = ("baseline", "h1", "h2", "h3")


def cost_to(records: list[dict], target: float, key: str) -> float | None:
    """`key` (examples or training seconds) at the first record whose test accuracy reached `target`."""
    hit = first_reaching(records, target, "test_acc")
    return None if hit is None else hit[key]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks hypotheses", description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=20.0, help="epochs of the full training set, every schedule")
    p.add_argument("--seeds", type=int, default=3, help="seeds per schedule")
    p.add_argument("--target", type=float, default=0.97, help="test accuracy target")
    p.add_argument("--crop-pad", type=int, default=2, help="pad-crop augmentation in px")
    args = p.parse_args(argv)

    data = whole_train("mnist5k")
    results = {}
    with tempfile.TemporaryDirectory() as cache:  # a fresh LR-finder cache: its cost is counted once
        for name in HYPOTHESES:
            schedule = build_schedule({"hypothesis": name, "budget_epochs": args.budget, "crop_pad": args.crop_pad}, data)
            runs = []
            for seed in range(args.seeds):
                started = time.perf_counter()
                trainer = Trainer(schedule, data, RunConfig(evals=40, seed=seed, cache_dir=cache, monitor="test"))
                records = list(trainer.run())
                runs.append({"acc": records[-1]["test_acc"], "train_seconds": records[-1]["wall_seconds"],
                             "total_seconds": time.perf_counter() - started, "max_lr": trainer.max_lr,
                             "examples_to_target": cost_to(records, args.target, "examples"),
                             "seconds_to_target": cost_to(records, args.target, "wall_seconds"),
                             "examples": records[-1]["examples"], "compute": records[-1]["compute"]})
            results[name] = {
                "schedule": schedule.describe(), "acc_mean": round(statistics.mean(r["acc"] for r in runs), 4),
                "acc": [round(r["acc"], 4) for r in runs],
                "train_seconds_mean": round(statistics.mean(r["train_seconds"] for r in runs), 2),
                "total_seconds_first_seed": round(runs[0]["total_seconds"], 2),
                "max_lr": round(runs[0]["max_lr"], 5), "examples": runs[0]["examples"], "compute": runs[0]["compute"],
                "examples_to_target": [r["examples_to_target"] for r in runs],
                "seconds_to_target": [r["seconds_to_target"] for r in runs]}
    base = results["baseline"]
    emit("hypotheses", {"dataset": "mnist5k", "model": "lenet5", "budget_epochs": args.budget, "seeds": args.seeds,
                        "target": args.target, "results": results,
                        "baseline_reaches_target": base["acc_mean"] >= args.target,
                        "acc_over_baseline": {k: round(v["acc_mean"] / base["acc_mean"], 4) for k, v in results.items()},
                        "compute_over_baseline": {k: round(v["compute"] / base["compute"], 3) for k, v in results.items()}})


if __name__ == "__main__":
    main()
