"""What the test modules share: one local Ray, the built-in dataset, a tiny search's options and
records without their timings. The plain helpers are imported (`from conftest import ...`; this
folder is on sys.path), the rest are fixtures."""

import sys
from pathlib import Path

import pytest

# tests/ holds helpers (dataset_files, scripts) imported by the test modules
sys.path.insert(0, str(Path(__file__).parent))

TIMINGS = ("wall_seconds", "eval_seconds")  # a record's clock readings: the only fields two runs may differ in


@pytest.fixture(scope="session")
def ray_session():
    """One local CPU-only Ray for the whole test session."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def mnist():
    """The built-in 5,000 MNIST digits, loaded once (nothing writes to a dataset)."""
    from tune_growth.data import load_dataset

    return load_dataset("mnist5k")


def strip(records):
    """Records without their clock readings, for comparing two runs exactly."""
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


def tiny_search(storage, name, space="h1", trials=4, budget_epochs=1.0, evals=4, **kw):
    """A tiny search's options on this machine: two trials at once, one CPU each, no GPU, quiet,
    its caches inside `storage`. `space`: a shipped space's name or a loaded Space."""
    from tune_growth.search import spaces
    from tune_growth.search.run import SearchOptions

    space = spaces.load(space) if isinstance(space, str) else space
    settings = dict(concurrency=2, cpus_per_trial=1, device="cpu", gpus_per_trial=0, verbose=0,
                    cache_dir=str(Path(storage) / "cache"))
    return SearchOptions(space, num_trials=trials, budget_epochs=budget_epochs, storage=Path(storage), name=name,
                         evals=evals, **{**settings, **kw})
