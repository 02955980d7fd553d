"""What honest measurement costs and saves: the share of a run spent evaluating under the old
protocol (the test split evaluated at every record, the whole training split trained on) and the
new one (a 10% validation split evaluated at every record, test once at the end); and what the
disk cache of example rankings and class orders saves each trial beyond the first on a node.

Prints one JSON line: per case, the evaluation share (eval_seconds / (wall_seconds + eval_seconds),
both from the trainer's own clocks) under each protocol and their ratio; per dataset, the seconds
a trial spent ranking examples and ordering classes without the cache and with it, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

from benchmarks.common import CIFAR_SPEC, cifar_present, emit
from tune_growth.data import DataSpec, load_dataset
from tune_growth.schedule.builders import build_schedule
from tune_growth.schedule.selection import cached_class_order, cached_rankings, class_order, rank_examples
from tune_growth.train.config import RunConfig
from tune_growth.train.trainer import Trainer

# the selections a search's trials ask for: H1's iconic and diverse rankings, H2's class order
RANKINGS = ("iconic", "diverse")
# the evaluation protocols compared: (name in the output, validation fraction, split every record evaluates)
PROTOCOLS = (("old: test every record", 0.0, "test"), ("new: val every record, test at the end", 0.1, "val"))


def eval_share(spec: DataSpec, model: str, width: float, params: dict, evals: int, repeats: int) -> dict:
    """Median evaluation share of a baseline run under each protocol."""
    out = {}
    for protocol, fraction, monitor in PROTOCOLS:
        data = load_dataset(replace(spec, val_fraction=fraction))
        schedule = build_schedule({"hypothesis": "baseline", **params}, data)
        shares, walls = [], []
        for seed in range(repeats):
            last = list(Trainer(schedule, data, RunConfig(model=model, width=width, seed=seed, evals=evals,
                                                          monitor=monitor)).run())[-1]
            shares.append(last["eval_seconds"] / (last["wall_seconds"] + last["eval_seconds"]))
            walls.append(last["wall_seconds"])
        out[protocol] = {"eval_share": round(statistics.median(shares), 4),
                         "train_seconds": round(statistics.median(walls), 2),
                         "eval_images": len(data.split(monitor)[1]), "train_images": len(data.train_y)}
    old, new = (v["eval_share"] for v in out.values())
    return {"dataset": spec.name, "model": model, "width": width, "evals": evals, **out,
            "new_over_old_eval_share": round(new / old, 3)}


def ranking_cache(spec: DataSpec, repeats: int) -> dict:
    """Seconds a trial spends on rankings and class orders: computed (before the cache: every
    trial) and read from a warm cache (every trial on a node after the first)."""
    data = load_dataset(spec)

    def compute() -> None:
        for method in RANKINGS:
            rank_examples(data, method)
        class_order(data, "coarse_to_fine")

    with tempfile.TemporaryDirectory() as cache:
        def cached() -> None:
            for method in RANKINGS:
                cached_rankings(data, method, 0, cache)
            cached_class_order(data, "coarse_to_fine", 0, cache)

        cached()  # the first trial on the node fills the cache
        times = {}
        for name, fn in (("computed_seconds", compute), ("cached_seconds", cached)):
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - start)
            times[name] = statistics.median(runs)
    return {"dataset": spec.name, "train_images": len(data.train_y), "selections": [*RANKINGS, "coarse_to_fine"],
            **{k: round(v, 4) for k, v in times.items()},
            "saved_per_trial_seconds": round(times["computed_seconds"] - times["cached_seconds"], 3),
            "cached_over_computed": round(times["cached_seconds"] / times["computed_seconds"], 4)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks measurement", description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=float, default=5.0, help="budget of each run in epochs")
    p.add_argument("--evals", type=int, default=20, help="evaluations per run (the search's default)")
    p.add_argument("--repeats", type=int, default=3, help="runs per protocol (seeds), and cache timings")
    p.add_argument("--no-cifar", action="store_true", help="skip the CIFAR-10 subset cases")
    args = p.parse_args(argv)
    shares = [eval_share(DataSpec("mnist5k"), "lenet5", 1.0, {"budget_epochs": args.epochs, "crop_pad": 2},
                         args.evals, args.repeats)]
    caches = [ranking_cache(DataSpec("mnist5k"), args.repeats)]
    if not args.no_cifar and cifar_present():
        cifar = CIFAR_SPEC
        shares.append(eval_share(cifar, "resnet9", 0.25, {"budget_epochs": args.epochs, "crop_pad": 4, "flip": True},
                                 args.evals, args.repeats))
        caches.append(ranking_cache(cifar, args.repeats))
    emit("measurement", {"eval_share": shares, "ranking_cache": caches})


if __name__ == "__main__":
    main()
