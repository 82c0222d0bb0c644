"""Whether a sweep's driver is still at work, from evidence in its folder, so that a sweep stopped with
Ctrl-C (driver gone, trials left "RUNNING" in Ray's saved state) reads as interrupted, not running.

Evidence, best first: the driver's lease in the sweep folder (`.hpo-lease.json`, `storage.lease`: renewed every
HEARTBEAT_S by the driver that holds the sweep), fresh while younger than LEASE_STALE_AFTER; without one, the newest write in the folder (Ray rewrites its
experiment state every few seconds while it runs, synced to S3 at least every 5 minutes, and every result
line carries a timestamp), fresh while younger than STALE_AFTER.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable

from orchestrator.storage.lease import STALE_AFTER_S
from orchestrator.storage.sweep_folder import LEASE_FILE

# A lease file not touched for this long: its driver is gone. Read by the file's modification time, so twice the
# lease's own takeover bound (a heartbeat late by one write is still a live driver).
LEASE_STALE_AFTER = timedelta(seconds=2 * STALE_AFTER_S)
STALE_AFTER = timedelta(minutes=10)        # no lease: a sweep folder untouched for this long has no driver


def is_lease_file(name: str) -> bool:
    """Whether a top-level file of the sweep folder is the driver's lease (its lock file is no heartbeat)."""
    return name == LEASE_FILE


def driver_alive(lease_mtime: datetime | None, writes: Iterable[datetime | None],
                 now: datetime | None = None) -> bool:
    """Whether the driver still runs: by its lease when there is one, else by the newest of `writes`."""
    now = now or datetime.now(timezone.utc)
    if lease_mtime is not None:
        return now - _utc(lease_mtime) < LEASE_STALE_AFTER
    newest = max((_utc(w) for w in writes if w is not None), default=None)
    return newest is not None and now - newest < STALE_AFTER


def _utc(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
