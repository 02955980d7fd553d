"""utilization: how busy a search keeps its slots. Runs a real search (default: the h1 space, 16
trials, 2 slots on a local Ray) and prints

    utilization = sum of trial running times / (wall time of the search x concurrent slots)

where a trial's running time is Ray's time_total_s at its last report (from the start of the
trainable to its last result) and the wall time is Tuner.fit() from start to end. Target >= 0.90
(a naive Tuner + OptunaSearch + ASHA measured 0.62-0.71 on this 2-core machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import emit


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks utilization", description=__doc__.splitlines()[0])
    p.add_argument("--space", default="h1", help="search space name or path")
    p.add_argument("--trials", type=int, default=16, help="trials in the search (>= 8)")
    p.add_argument("--slots", type=int, default=2, help="concurrent trials (1 CPU each)")
    p.add_argument("--budget", type=float, default=None, help="epochs per trial (default: the space's)")
    from tune_growth.search.run import DEFAULT_STOPPING, STOPPING

    p.add_argument("--stopping", choices=list(STOPPING), default=DEFAULT_STOPPING,
                   help=f"the search's early stopping (search/run.py: STOPPING; default {DEFAULT_STOPPING}, the CLI's)")
    p.add_argument("--no-asha", action="store_true", help="the same as --stopping none")
    args = p.parse_args(argv)

    import ray

    from tune_growth.data import load_dataset
    from tune_growth.results.export import read_experiment
    from tune_growth.search import spaces
    from tune_growth.search.run import SearchOptions, run_search

    space = spaces.load(args.space)
    data = load_dataset(space.dataset)
    ray.init(address="local", num_cpus=args.slots, include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as tmp:
        opts = SearchOptions(space, args.trials, args.budget or space.budget_epochs, args.slots, 1.0, 0.0,
                             Path(tmp), "utilization", stopping="none" if args.no_asha else args.stopping, verbose=0,
                             cache_dir=str(Path(tmp) / "cache"))
        started, t0 = time.perf_counter(), time.time()
        run_search(opts, data)
        wall, t1 = time.perf_counter() - started, time.time()
        trials, _ = read_experiment(opts.experiment_dir)
    ray.shutdown()
    busy = float(trials["time_total_s"].sum())
    spans = (trials["ended_at"] - trials["started_at"]).clip(lower=0)
    first_start, last_end = float(trials["started_at"].min()), float(trials["ended_at"].max())
    where = {"before_first_trial_s": round(first_start - t0, 2), "after_last_report_s": round(t1 - last_end, 2),
             "trial_spans_sum_s": round(float(spans.sum()), 2),
             "idle_between_trials_s": round((last_end - first_start) * args.slots - float(spans.sum()), 2)}
    emit("utilization", {"space": space.name, "trials": len(trials), "slots": args.slots,
                         "budget_epochs": opts.budget_epochs, "stopping": opts.stopping, "wall_seconds": round(wall, 2),
                         "trial_seconds_sum": round(busy, 2), "utilization": round(busy / (wall * args.slots), 3),
                         "statuses": trials["status"].value_counts().to_dict(), "where_the_wall_goes": where,
                         "target": ">= 0.90"})


if __name__ == "__main__":
    main()
