"""What the test modules share: one local Ray, the built-in dataset, a tiny search's options and
records without their timings, a served optuna-dashboard. The plain helpers are imported (`from conftest import ...`; this
folder is on sys.path), the rest are fixtures."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# tests/ holds helpers (dataset_files, scripts) imported by the test modules
sys.path.insert(0, str(Path(__file__).parent))

# `make test` runs two pytest workers (pytest-xdist) on a 2-core machine: each keeps torch (and the
# processes it starts) to one OpenMP thread, so two workers never oversubscribe the cores with
# spinning thread pools (two torch jobs at 2 threads each on 2 cores run 30-100x slower); set
# before any test module imports torch
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

TIMINGS = ("wall_seconds", "eval_seconds")  # a record's clock readings: the only fields two runs may differ in


@pytest.fixture(scope="session")
def ray_session():
    """One local CPU-only Ray for the whole test session."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
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


@contextlib.contextmanager
def optuna_dashboard(journal):
    """A real optuna-dashboard serving `journal` on a free local port; yields api(path) -> the JSON
    of GET /api/<path>. Stopped on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "optuna-dashboard"), str(journal),
                               "--host", "127.0.0.1", "--port", str(port), "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def api(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{path}", timeout=30) as response:
            return json.loads(response.read())

    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and server.poll() is None:
            try:
                body = api("studies")
            except OSError:
                time.sleep(0.5)
        assert body is not None, server.stderr.read().decode()[-2000:] if server.poll() is not None else "no answer"
        yield api
    finally:
        server.terminate()
        server.wait(timeout=30)
