"""Shipping a sweep's code to a cluster (`hpo submit`, `hpo run --address`): a runtime environment holding the
spec plus the user's code and packages.

The job's `working_dir` is a staging folder holding the spec's own `runtime_env.working_dir`
content with the spec file on top, so the driver finds both in its current directory.
`py_modules`, `pip` and `env_vars` come from the spec. A single-file module in `py_modules`
(`my_trainable.py`) is copied into the working_dir, which is on every worker's import path (the
Jobs API ships only folders, wheels and URIs as py_modules). Relative local paths in the spec are
relative to the spec file's folder.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from orchestrator.errors import UserInputError
from orchestrator.spec import Spec

# Read by the job's supervisor: `hpo stop` sends SIGINT, on which Ray Tune ends the sweep saving its
# experiment state (so `hpo submit --resume` continues from the trials' checkpoints), and waits
# this long before SIGKILL. Ray's default, SIGTERM after 3 s, would lose the state saved since the
# last periodic upload.
STOP_GRACEFULLY = {"RAY_JOB_STOP_SIGNAL": "SIGINT", "RAY_JOB_STOP_WAIT_TIME_S": "60"}

# Never shipped from a working_dir (Ray also honours .gitignore files inside it).
STAGING_IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".pytest_cache", "runs")


@dataclass(frozen=True)
class StagedSweep:
    """A staged working_dir and the runtime environment that ships it."""

    working_dir: Path
    spec_file: str                 # the spec's name inside working_dir
    runtime_env: dict[str, Any]


def _is_uri(value: str) -> bool:
    return "://" in value


def local_path(value: str, base: Path, key: str) -> Path:
    """A local path from the spec, relative to the spec's folder; it must exist."""
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.exists():
        raise UserInputError(f"{key}: {value!r} not found (looked at {path})")
    return path.resolve()


def _py_modules(spec: Spec, base: Path) -> tuple[list[str], list[Path]]:
    """The spec's py_modules as (entries for Ray: URIs, folders, wheels; single .py files)."""
    modules: list[str] = []
    files: list[Path] = []
    for i, entry in enumerate(spec.runtime_env.py_modules):
        if _is_uri(entry):
            modules.append(entry)
            continue
        path = local_path(entry, base, f"runtime_env.py_modules[{i}]")
        if path.is_file() and path.suffix == ".py":
            files.append(path)
        else:
            modules.append(str(path))
    return modules, files


def runtime_env_of(spec: Spec, working_dir: Path, py_modules: list[str]) -> dict[str, Any]:
    """The Ray runtime_env dict for the job."""
    settings = spec.runtime_env
    env: dict[str, Any] = {"working_dir": str(working_dir), "env_vars": {**STOP_GRACEFULLY, **settings.env_vars}}
    if py_modules:
        env["py_modules"] = py_modules
    if settings.pip:
        env["pip"] = list(settings.pip)
    return env


@contextlib.contextmanager
def staged_sweep(spec: Spec, spec_path: Path) -> Iterator[StagedSweep]:
    """Build the staging folder (removed on exit, once the SDK has uploaded it)."""
    base = spec_path.resolve().parent
    source_dir = spec.runtime_env.working_dir
    if source_dir and _is_uri(source_dir):
        raise UserInputError(f"runtime_env.working_dir: {source_dir!r}: hpo submit ships a local folder; "
                             f"put remote code in runtime_env.py_modules")
    with tempfile.TemporaryDirectory(prefix="hpo-submit-") as tmp:
        staging = Path(tmp) / "job"
        if source_dir:
            source = local_path(source_dir, base, "runtime_env.working_dir")
            if not source.is_dir():
                raise UserInputError(f"runtime_env.working_dir: {source_dir!r} is not a folder")
            shutil.copytree(source, staging, ignore=STAGING_IGNORE)
        else:
            staging.mkdir()
        modules, files = _py_modules(spec, base)
        for module in files:
            shutil.copyfile(module, staging / module.name)
        shutil.copyfile(spec_path, staging / spec_path.name)
        yield StagedSweep(staging, spec_path.name, runtime_env_of(spec, staging, modules))
