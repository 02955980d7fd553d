"""search_efficiency: for the same number of trials, random search and TPE without early stopping,
phase-aligned ASHA + TPE, and successive halving over budgets + TPE, over seeds: best-so-far
validation accuracy against cumulative compute (examples x pixels, what the runs really spent).
Per seed and method: the compute it needed to come within 0.1 points of the best validation
accuracy any method found in that seed, as a fraction of random search's total compute; its total
compute; and the test accuracy of what it finally chose. Target for the default method: median
fraction <= 1/3 with a final choice no worse than random search's."""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import emit

METHODS = {"random": {"stopping": "none", "sampler": "random"}, "tpe": {"stopping": "none", "sampler": "tpe"},
           "asha_tpe": {"stopping": "asha", "sampler": "tpe"}, "budgets_tpe": {"stopping": "budgets", "sampler": "tpe"}}
DEFAULT_METHOD = "asha_tpe"  # the search CLI's default --stopping, with TPE
WITHIN = 0.001  # "as good": within 0.1 points of validation accuracy of the seed's best


def best_curve(trials) -> tuple[list[tuple[float, float]], float | None]:
    """(cumulative compute, best completed validation accuracy so far) in order of trial
    completion, and the test accuracy of the trial finally chosen (the best by validation)."""
    done = trials.sort_values("ended_at")
    spent, best, chosen, out = 0.0, 0.0, None, []
    for row in done.itertuples():
        spent += row.compute or 0.0
        if row.status == "completed" and row.final_val_acc > best:  # what a search selects on
            best, chosen = row.final_val_acc, row.final_test_acc
        out.append((spent, best))
    return out, chosen


def fraction_to_reach(curve: list[tuple[float, float]], target: float, unit: float) -> float | None:
    """Compute spent until the best so far reached `target`, over `unit`; None if it never did."""
    hit = next((spent for spent, best in curve if best >= target), None)
    return None if hit is None else round(hit / unit, 3)


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
    curves, chosen = {m: [] for m in METHODS}, {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for method, kw in METHODS.items():
                opts = SearchOptions(space, args.trials, args.budget, 2, 1.0, 0.0, Path(tmp), f"{method}_{seed}",
                                     seed=seed, verbose=0, cache_dir=str(Path(tmp) / "cache"), **kw)
                run_search(opts, data)
                curve, test_acc = best_curve(read_experiment(opts.experiment_dir)[0])
                curves[method].append(curve)
                chosen[method].append(test_acc)
    ray.shutdown()
    fractions = {m: [] for m in METHODS}
    for seed in range(args.seeds):
        best_any = max(curves[m][seed][-1][1] for m in METHODS)
        unit = curves["random"][seed][-1][0]
        for m in METHODS:
            fractions[m].append(fraction_to_reach(curves[m][seed], best_any - WITHIN, unit))
    medians = {m: statistics.median([f if f is not None else float("inf") for f in fs]) for m, fs in fractions.items()}
    summary = {m: {"best_val_acc": [round(c[-1][1], 4) for c in cs], "total_compute": [c[-1][0] for c in cs],
                   "chosen_test_acc": chosen[m], "fraction_of_random_compute": fractions[m]}
               for m, cs in curves.items()}
    emit("search_efficiency", {"space": space.name, "trials": args.trials, "budget_epochs": args.budget,
                               "seeds": args.seeds, "methods": summary, "default_method": DEFAULT_METHOD,
                               "fraction_of_random_compute": {m: v if v != float("inf") else None
                                                              for m, v in medians.items()},
                               "target": "default method's median <= 0.333, its chosen test accuracy >= random's"})

if __name__ == "__main__":
    main()
