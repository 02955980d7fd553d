import sys
from pathlib import Path

import pytest

# tests/ holds helpers (dataset_files) imported by the test modules
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def ray_session():
    """One local CPU-only Ray for the whole test session."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
