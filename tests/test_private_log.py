"""The sweep's log: S3 sweeps log into a per-user 0700 folder, files are created 0600 and never through a symlink."""
from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

import pytest

from orchestrator.runner.private_log import PrivateFileHandler
from orchestrator.runner.ray_session import log_path
from orchestrator.storage import resolve_storage


def test_s3_sweep_logs_go_to_a_private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)   # re-read TMPDIR
    path = log_path(resolve_storage("s3://bucket/sweeps/demo", {"endpoint_url": "http://127.0.0.1:9"}))
    assert path.parent == tmp_path / f"hpo-logs-{os.getuid()}"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.parent.chmod(0o755)   # loosened by someone: tightened again
    log_path(resolve_storage("s3://bucket/sweeps/demo", {"endpoint_url": "http://127.0.0.1:9"}))
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_log_file_is_0600_and_never_follows_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    planted = tmp_path / "sweep.log"
    planted.symlink_to(victim)
    with pytest.raises(OSError) as info:
        PrivateFileHandler(planted, encoding="utf-8")
    assert info.value.errno == errno.ELOOP and victim.read_text() == "precious\n"
    fresh = tmp_path / "fresh.log"
    handler = PrivateFileHandler(fresh, encoding="utf-8")
    handler.emit(logging.LogRecord("ray", logging.INFO, __file__, 1, "hello", None, None))
    handler.close()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600 and "hello" in fresh.read_text()
