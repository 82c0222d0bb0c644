"""The sweep's log file, private to its user: S3 sweeps log into a per-user folder (mode 0700) under the temp folder,
and every log file is opened 0600 without following a symlink, so no other user can read it or plant a link."""
from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from orchestrator.errors import UserInputError


def private_log_dir() -> Path:
    """`<tmp>/hpo-logs-<uid>`, created 0700; refused when it is a symlink or another user's, tightened when too open."""
    folder = Path(tempfile.gettempdir()) / f"hpo-logs-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UserInputError(f"{folder} is not a folder of this user (a symlink or someone else's): "
                             f"remove it, or set TMPDIR to a private folder")
    if info.st_mode & 0o077:
        folder.chmod(0o700)
    return folder


class PrivateFileHandler(logging.FileHandler):
    """A FileHandler whose file is created 0600 (an existing one is made 0600) and never opened through a symlink."""

    def _open(self):  # type: ignore[override]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise
