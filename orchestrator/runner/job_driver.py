"""Running as a Ray job's driver (`hpo submit`): the driver must not stand in the job's working_dir.

Ray's runtime-env agent unpacks a job's working_dir with `overwrite=True`: a node that sets the job up later (a worker
of a local cluster sharing the head's session folder) deletes the folder and unpacks it afresh. The driver's current
directory is then gone, and Ray Tune's `ExperimentAnalysis` fails on `os.getcwd()` as the sweep ends.
"""
from __future__ import annotations

import os
import sys
import tempfile

RAY_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"   # set by Ray for a job's driver (the job's runtime_env, metadata)


def in_ray_job() -> bool:
    """Whether this process is a Ray job's driver."""
    return bool(os.environ.get(RAY_JOB_ENV))


def leave_job_working_dir() -> None:
    """Inside a Ray job: keep the working_dir importable by its path, then move to a folder Ray never deletes. Call it
    once the spec is read and the trainable resolved (both come from the working_dir)."""
    if not in_ray_job():
        return
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    os.chdir(tempfile.gettempdir())
