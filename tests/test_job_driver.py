"""A Ray job's driver: it leaves the job's working_dir (which Ray may delete under it), ends with one line instead of
a traceback, and a job whose head node lacks `hpo` is explained in one line."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from orchestrator.cli import main as cli
from orchestrator.jobs import JobInfo
from orchestrator.jobs.follow import failure_note
from orchestrator.runner.job_driver import RAY_JOB_ENV, leave_job_working_dir


def test_driver_leaves_the_working_dir_that_ray_may_delete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job_dir = tmp_path / "working_dir_files" / "_ray_pkg_x"
    job_dir.mkdir(parents=True)
    monkeypatch.chdir(job_dir)
    monkeypatch.setattr(sys, "path", list(sys.path))
    leave_job_working_dir()                       # not a job: nothing moves
    assert Path.cwd() == job_dir
    monkeypatch.setenv(RAY_JOB_ENV, "{}")
    leave_job_working_dir()
    assert Path.cwd() != job_dir and str(job_dir) in sys.path
    job_dir.rmdir()                               # what Ray's agent does when another node unpacks the job
    assert os.getcwd()


def test_job_driver_ends_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def broken(args: object) -> int:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr("orchestrator.cli.sweep_commands.cmd_validate", broken)
    with pytest.raises(FileNotFoundError):        # outside a job a bug keeps its traceback
        cli.main(["validate", "x.yaml"])
    monkeypatch.setenv(RAY_JOB_ENV, "{}")
    assert cli.main(["validate", "x.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hpo: error: FileNotFoundError: ") and err.count("\n") == 1
    saved = Path(err.rsplit("traceback in ", 1)[1].rstrip(")\n"))
    assert "Traceback" in saved.read_text() and saved.unlink() is None


def test_missing_hpo_on_the_cluster_is_one_line() -> None:
    failed = JobInfo(job_id="j", status="FAILED", driver_exit_code=127,
                     message="Job entrypoint command failed with exit code 127: /bin/sh: 1: hpo: not found")
    note = failure_note(failed)
    assert note and "no `hpo` command on its PATH" in note and "\n" not in note
    assert failure_note(JobInfo(job_id="j", status="FAILED", driver_exit_code=1)) is None
    assert failure_note(JobInfo(job_id="j", status="SUCCEEDED", driver_exit_code=0)) is None
