"""Shared fixtures: one local Ray for the whole session, temporary sweep storage."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Ray workers inherit the environment: they can then import the test trainables
# ("sweep_trainables:quadratic") the way a user's own module is found on PYTHONPATH.
_TESTS_DIR = str(Path(__file__).resolve().parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_TESTS_DIR, os.environ.get("PYTHONPATH", "")) if p)


@pytest.fixture(scope="session")
def ray_local():
    """The one local Ray instance every test that runs trials shares (2 CPUs)."""
    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )
    yield ray
    # Left running until the interpreter exits: cluster tests start their own Ray processes.


@pytest.fixture
def storage_dir(tmp_path: Path) -> Path:
    """An empty local storage root for one test's sweeps."""
    root = tmp_path / "runs"
    root.mkdir()
    return root
pytest_plugins = ["s3_fixtures"]
