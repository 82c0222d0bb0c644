"""Whether a sweep's driver is still at work, from evidence in its folder, so that a sweep stopped with
Ctrl-C (driver gone, trials left "RUNNING" in Ray's saved state) reads as interrupted, not running.

Evidence, best first: a driver lease / heartbeat file in the sweep folder (`.hpo-lease.json`, renewed every
10 s by the driver that holds the sweep; any top-level file naming `lease` or `heartbeat`, lock files aside),
fresh while younger than LEASE_STALE_AFTER; without one, the newest write in the folder (Ray rewrites its
experiment state every few seconds while it runs, synced to S3 at least every 5 minutes, and every result
line carries a timestamp), fresh while younger than STALE_AFTER.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable

LEASE_STALE_AFTER = timedelta(minutes=2)   # a heartbeat file not touched for this long: its driver is gone
STALE_AFTER = timedelta(minutes=10)        # no lease: a sweep folder untouched for this long has no driver


def is_lease_file(name: str) -> bool:
    """Whether a top-level file of the sweep folder is a driver lease or heartbeat."""
    lowered = name.lower()
    return ("lease" in lowered or "heartbeat" in lowered) and not lowered.endswith(".lock")


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
