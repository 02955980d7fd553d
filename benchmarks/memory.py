"""memory: peak resident memory of the search driver and of each trial in an 8-trial search, and
proof that the dataset is held once per node. The same search runs twice, on a small and on a
large synthetic npz dataset (default 50,000 x 3 x 32 x 32 uint8 = 146 MiB): if trials copied the
data, their anonymous memory (Linux's smaps_rollup) would grow by the difference; mapped from the
object store's one copy (shared memory), it does not."""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import emit


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks memory", description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=50_000,
                   help="training examples of the large synthetic dataset (the small one has 1/25 of them, >= 200)")
    p.add_argument("--trials", type=int, default=8, help="trials in the search")
    args = p.parse_args(argv)

    import ray

    from tune_growth.data import DataSpec, load_dataset
    from tune_growth.results.export import read_experiment
    from tune_growth.search import spaces
    from tune_growth.search.run import SearchOptions, run_search

    def search(examples: int) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            rng = np.random.default_rng(0)
            for split, n in (("train", examples), ("test", 1000)):
                np.savez(Path(tmp) / f"{split}.npz", x=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                         y=np.arange(n) % 10)
            data = load_dataset(DataSpec("npz", tmp))
            dataset_mb = sum(t.numel() for t in (data.train_x, data.val_x, data.test_x)) / 2**20
            opts = SearchOptions(spaces.load("h3"), args.trials, 0.05, 2, 1.0, 0.0, Path(tmp) / "results", "memory",
                                 evals=2, verbose=0, cache_dir=str(Path(tmp) / "cache"), stopping="none")
            run_search(opts, data)
            trials, _ = read_experiment(opts.experiment_dir)
        return {"dataset_mb": round(dataset_mb, 1), "trial_anon_mb_max": round(float(trials["anon_mb"].max()), 1),
                "trial_uss_mb_max": round(float(trials["uss_mb"].max()), 1),
                "trial_pss_mb_max": round(float(trials["pss_mb"].max()), 1),
                "trial_peak_rss_mb_max": round(float(trials["peak_rss_mb"].max()), 1),
                "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}

    # one Ray for both searches (its start and stop are 6 s): each trial's memory is its own process's
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    small, large = search(max(200, args.examples // 25)), search(args.examples)
    ray.shutdown()
    growth = large["trial_anon_mb_max"] - small["trial_anon_mb_max"]
    emit("memory", {"trials": args.trials, "small": small, "large": large,
                    "dataset_growth_mb": round(large["dataset_mb"] - small["dataset_mb"], 1),
                    "trial_anonymous_growth_mb": round(growth, 1),
                    # a copy per trial would add >= 1.0x the dataset's growth to every trial
                    "growth_over_dataset_growth": round(growth / (large["dataset_mb"] - small["dataset_mb"]), 3),
                    "held_once_per_node": bool(growth < 0.5 * (large["dataset_mb"] - small["dataset_mb"]))})


if __name__ == "__main__":
    main()
