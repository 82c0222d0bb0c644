"""Sweeps as Ray jobs: submit a spec to a remote cluster's Jobs API, then follow, inspect and stop it.

`submit_sweep` stages the spec and the user's code into a runtime environment and launches
`hpo run` as the job's driver on the head node; `JobsClient` talks to the cluster's Jobs API
(the dashboard's HTTP port), with Ray's token authentication and one-line errors.
"""
from __future__ import annotations

from orchestrator.jobs.client import JobInfo, JobsClient
from orchestrator.jobs.errors import AuthenticationFailed, ClusterUnreachable, JobError, JobNotFound
from orchestrator.jobs.follow import TERMINAL_STATUSES, follow_logs, wait_until_done
from orchestrator.jobs.submit import SubmittedJob, build_entrypoint, submit_sweep

__all__ = [
    "AuthenticationFailed", "ClusterUnreachable", "JobError", "JobInfo", "JobNotFound", "JobsClient",
    "SubmittedJob", "TERMINAL_STATUSES", "build_entrypoint", "follow_logs", "submit_sweep",
    "wait_until_done",
]
