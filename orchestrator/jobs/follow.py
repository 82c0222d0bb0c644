"""Following a submitted sweep: wait for its end, stream its driver's output."""
from __future__ import annotations

import time
from typing import TextIO

from orchestrator.jobs.client import JobInfo, JobsClient

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


def wait_until_done(client: JobsClient, job_id: str, *, timeout_s: float | None = None,
                    poll_s: float = 1.0) -> JobInfo:
    """Poll until the job ends (or `timeout_s` passes); its last known state."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        info = client.info(job_id)
        if info.status in TERMINAL_STATUSES or (deadline is not None and time.monotonic() >= deadline):
            return info
        time.sleep(poll_s)


def follow_logs(client: JobsClient, job_id: str, out: TextIO) -> JobInfo:
    """Print the driver's output as it comes, until the job ends; the job's final state."""
    def write(text: str) -> None:
        out.write(text)
        out.flush()

    client.tail(job_id, write)
    # The log stream closes as the driver exits; the status follows a moment later.
    return wait_until_done(client, job_id, timeout_s=30)


def exit_code(info: JobInfo) -> int:
    """The process status a command that waited for a job ends with: 0 only if it succeeded."""
    return 0 if info.status == "SUCCEEDED" else 1


COMMAND_NOT_FOUND = 127   # the exit status of `/bin/sh` when the entrypoint's command is not on its PATH


def failure_note(info: JobInfo) -> str | None:
    """One line on what to do about a job that failed for a reason outside the sweep, else None."""
    if info.status != "FAILED":
        return None
    if info.driver_exit_code == COMMAND_NOT_FOUND or "hpo: not found" in info.message:
        return ("the cluster's head node has no `hpo` command on its PATH: install hpo (`pip install -e .` of this "
                "project) into the Python environment whose `ray start` runs the head node, then submit again")
    return None
