"""Shared fixtures: one local Ray for the whole session, temporary sweep storage."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from installed import declared_entry_points, write_dist_info

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# A folder where tests "install" throwaway distributions (see `installed.py`).
SITE = Path(tempfile.mkdtemp(prefix="hpo-tests-site-"))
atexit.register(shutil.rmtree, SITE, ignore_errors=True)
sys.path.append(str(SITE))
# Ray workers inherit the environment: they can then import the test trainables
# ("sweep_trainables:quadratic") the way a user's own module is found on PYTHONPATH, and
# what tests install in SITE.
_TESTS_DIR = str(Path(__file__).resolve().parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_TESTS_DIR, str(SITE), os.environ.get("PYTHONPATH", "")) if p)


def _declare_this_checkouts_entry_points() -> None:
    """The entry points of pyproject.toml (the built-in trainables) are in the installed metadata
    only after `pip install -e .`; until then (a changed pyproject.toml), declare them in SITE."""
    missing = {group: entries for group, entries in declared_entry_points().items()
               if not set(entries) <= {entry.name for entry in entry_points(group=group)}}
    if missing:
        write_dist_info(SITE, "hpo_checkout", "0", missing)


_declare_this_checkouts_entry_points()


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


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """A folder on `sys.path` here and in Ray workers, for throwaway installed packages."""
    return SITE


@pytest.fixture
def storage_dir(tmp_path: Path) -> Path:
    """An empty local storage root for one test's sweeps."""
    root = tmp_path / "runs"
    root.mkdir()
    return root
pytest_plugins = ["s3_fixtures"]
