"""search_efficiency: for the same number of trials, ASHA + Optuna TPE (ours) against random
search without early stopping and TPE without early stopping, over seeds: best final accuracy
found against compute spent. Reports, per seed, the compute ASHA + TPE spent until its best
completed trial matched random search's best, as a fraction of random search's total compute
(target <= 1/3)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import emit

METHODS = {"asha_tpe": {"asha": True, "sampler": "tpe"}, "random": {"asha": False, "sampler": "random"},
           "tpe": {"asha": False, "sampler": "tpe"}}


def best_curve(trials) -> list[tuple[float, float]]:
    """(cumulative compute, best completed accuracy so far) in order of trial completion."""
    done = trials.sort_values("ended_at")
    spent, best, out = 0.0, 0.0, []
    for row in done.itertuples():
        spent += row.compute or 0.0
        if row.status == "completed":
            best = max(best, row.final_val_acc)  # what a search selects on
        out.append((spent, best))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks search_efficiency", description=__doc__.splitlines()[0])
    p.add_argument("--space", default="h1", help="search space")
    p.add_argument("--trials", type=int, default=16, help="trials per search")
    p.add_argument("--budget", type=float, default=10.0, help="epochs per trial")
    p.add_argument("--seeds", type=int, default=3, help="searches per method")
    args = p.parse_args(argv)

    import ray

    from tune_growth.data import load_dataset
    from tune_growth.results.export import read_experiment
    from tune_growth.search import spaces
    from tune_growth.search.run import SearchOptions, run_search

    space, data = spaces.load(args.space), load_dataset("mnist5k")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    curves = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for method, kw in METHODS.items():
                opts = SearchOptions(space, args.trials, args.budget, 2, 1.0, 0.0, Path(tmp), f"{method}_{seed}",
                                     seed=seed, verbose=0, cache_dir=str(Path(tmp) / "cache"), **kw)
                run_search(opts, data)
                curves[method].append(best_curve(read_experiment(opts.experiment_dir)[0]))
    ray.shutdown()
    fractions = []
    for ours, rnd in zip(curves["asha_tpe"], curves["random"]):
        target, total = rnd[-1][1], rnd[-1][0]
        hit = next((spent for spent, best in ours if best >= target), None)
        fractions.append(None if hit is None else round(hit / total, 3))
    summary = {m: {"best_acc": [round(c[-1][1], 4) for c in cs], "total_compute": [c[-1][0] for c in cs]}
               for m, cs in curves.items()}
    reached = [f for f in fractions if f is not None]
    emit("search_efficiency", {"space": space.name, "trials": args.trials, "budget_epochs": args.budget,
                               "seeds": args.seeds, "methods": summary,
                               "asha_tpe_compute_to_match_random_best_fraction": fractions,
                               "median_fraction": statistics.median(reached) if reached else None,
                               "target": "<= 0.333"})


if __name__ == "__main__":
    main()
