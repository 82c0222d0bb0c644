"""One writer per sweep: `<sweep>/.hpo-lease.json`, claimed by `hpo run` (`--resume` too) and `hpo train`, renewed by a
heartbeat thread, released at the end. A second claimant is refused with the holder's host, pid and start time.

A lease is stale when its heartbeat is older than `STALE_AFTER_S` (or, on this host, its process is gone); a stale
lease is taken over. Clocks of the hosts sharing a storage are assumed to agree within a few seconds.

How a claim is made atomic:
- local folder: under `flock` of `<sweep>/.hpo-lease.lock`, so claims, takeovers and heartbeats on one host (or one
  filesystem with working locks) are serialised; the lease itself is replaced by rename.
- S3: a conditional PUT (`If-None-Match: *` to create, `If-Match: <etag>` to take over or renew). Some S3-compatible
  servers ignore these headers, so every winning write is read back after `SETTLE_S`: a claimant that finds another
  owner there backs off. On such servers this guarantees one holder as long as each claimant's existence check and
  PUT are less than `SETTLE_S` apart; on servers that honour the headers (AWS S3, MinIO, recent moto) it is exact.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Iterator

from orchestrator.errors import StorageError, UserInputError
from orchestrator.processes import process_alive
from orchestrator.storage import s3
from orchestrator.storage.location import StorageLocation
from orchestrator.storage.sweep_folder import LEASE_FILE, LOCK_FILE

LEASE_FILES = (LEASE_FILE, LOCK_FILE)   # kept when `--fresh` empties the sweep folder
HEARTBEAT_S = 10.0
STALE_AFTER_S = 60.0
SETTLE_S = 1.0

log = logging.getLogger("orchestrator.storage")


class SweepBusy(UserInputError):
    """Another live process holds the sweep's lease."""


@dataclass(frozen=True)
class LeaseRecord:
    """What a lease file says: who holds it, since when, and when it last proved alive."""

    owner: str
    host: str
    pid: int
    command: str
    started: float
    heartbeat: float
    ray_dashboard: str = ""   # the Ray dashboard of the cluster running the sweep, once known (hpo dashboard links it)

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.started, timezone.utc).isoformat(timespec="seconds")
        return f"{self.command} on host {self.host}, pid {self.pid}, started {since}"

    def is_stale(self, now: float) -> bool:
        """No heartbeat for STALE_AFTER_S, or its process is gone (known only on this host)."""
        if now - self.heartbeat > STALE_AFTER_S:
            return True
        return self.host == socket.gethostname() and not process_alive(self.pid)

    @staticmethod
    def parse(raw: bytes) -> LeaseRecord | None:
        """The record, or None for anything unreadable (read as stale: a crash mid-write must not lock a sweep)."""
        try:
            data = json.loads(raw)
            return LeaseRecord(owner=str(data["owner"]), host=str(data["host"]), pid=int(data["pid"]),
                               command=str(data["command"]), started=float(data["started"]),
                               heartbeat=float(data["heartbeat"]),
                               ray_dashboard=str(data.get("ray_dashboard") or ""))
        except (ValueError, KeyError, TypeError):
            return None

    def payload(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()


class Lease:
    """A held lease; `release` (or leaving `hold_lease`) stops the heartbeat and removes the file if still ours."""

    def __init__(self, store: _Store, record: LeaseRecord) -> None:
        self._store, self.record = store, record
        self._stop = threading.Event()
        self._writing = threading.Lock()   # the heartbeat and `announce_dashboard` write one at a time
        self.lost = False
        self._thread = threading.Thread(target=self._beat, name="hpo-lease", daemon=True)
        self._thread.start()

    def announce_dashboard(self, url: str) -> None:
        """Name the Ray dashboard in the lease now, for readers such as `hpo dashboard`."""
        self.record = LeaseRecord(**{**asdict(self.record), "ray_dashboard": url})
        self._renew()

    def _renew(self) -> bool:
        with self._writing:
            return self._store.renew(self.record, time.time())

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                if not self._renew():
                    self.lost = True
                    log.warning("the lease on %s was taken over by another process", self._store.where)
                    return
            except Exception as exc:   # noqa: BLE001 - a flaky storage must not end the heartbeat; the next beat retries
                log.warning("lease heartbeat on %s failed: %s", self._store.where, exc)

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if not self.lost:
            try:
                self._store.release(self.record)
            except Exception as exc:   # noqa: BLE001 - a lease left behind goes stale by itself
                log.warning("could not remove the lease on %s (it goes stale by itself): %s", self._store.where, exc)


def claim_lease(sweep: StorageLocation, command: str) -> Lease:
    """Take the sweep's lease for `command` (e.g. `hpo run`), or raise SweepBusy naming the live holder."""
    now = time.time()
    record = LeaseRecord(owner=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), command=command,
                         started=now, heartbeat=now)
    store: _Store = _S3Store(sweep) if sweep.is_s3 else _LocalStore(sweep)
    holder = store.claim(record)
    if holder is not None:
        raise SweepBusy(f"{sweep.display} is in use by {holder.describe()}; wait for it to end "
                        f"(a lease with no heartbeat for {STALE_AFTER_S:.0f} s is taken over)")
    return Lease(store, record)


@contextmanager
def hold_lease(sweep: StorageLocation, command: str) -> Iterator[Lease]:
    """`claim_lease` for the duration of a `with` block."""
    lease = claim_lease(sweep, command)
    try:
        yield lease
    finally:
        lease.release()


class _Store:
    """Where a lease lives; `claim` returns None when `record` now holds it, else the live holder."""

    where: str

    def claim(self, record: LeaseRecord) -> LeaseRecord | None:
        raise NotImplementedError

    def renew(self, record: LeaseRecord, now: float) -> bool:
        raise NotImplementedError

    def release(self, record: LeaseRecord) -> None:
        raise NotImplementedError


class _LocalStore(_Store):
    def __init__(self, sweep: StorageLocation) -> None:
        self.where = sweep.display
        self.folder = sweep.path
        self.path = os.path.join(sweep.path, LEASE_FILE)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl

        os.makedirs(self.folder, exist_ok=True)
        fd = os.open(os.path.join(self.folder, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> LeaseRecord | None:
        try:
            with open(self.path, "rb") as stream:
                return LeaseRecord.parse(stream.read())
        except FileNotFoundError:
            return None

    def _write(self, record: LeaseRecord) -> None:
        staging = f"{self.path}.{uuid.uuid4().hex[:8]}.tmp"
        with open(staging, "wb") as stream:
            stream.write(record.payload())
        os.replace(staging, self.path)

    def claim(self, record: LeaseRecord) -> LeaseRecord | None:
        with self._locked():
            current = self._read()
            if current is not None and not current.is_stale(record.started):
                return current
            self._write(record)
            return None

    def renew(self, record: LeaseRecord, now: float) -> bool:
        with self._locked():
            current = self._read()
            if current is None or current.owner != record.owner:
                return False
            self._write(LeaseRecord(**{**asdict(record), "heartbeat": now}))
            return True

    def release(self, record: LeaseRecord) -> None:
        with self._locked():
            current = self._read()
            if current is not None and current.owner == record.owner:
                os.unlink(self.path)


class _S3Store(_Store):
    def __init__(self, sweep: StorageLocation) -> None:
        self.where = sweep.display
        self.bucket, _, prefix = sweep.path.partition("/")
        self.key = f"{prefix}/{LEASE_FILE}" if prefix else LEASE_FILE
        self.client = s3.client(sweep.options)
        self.etag: str | None = None

    def _read(self) -> tuple[LeaseRecord | None, str] | None:
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except self.client.exceptions.NoSuchKey:
            return None
        return LeaseRecord.parse(got["Body"].read()), got["ETag"]

    def _put(self, record: LeaseRecord, **condition: str) -> str | None:
        """PUT the record under `condition`; its ETag, or None when the condition failed."""
        from botocore.exceptions import ClientError

        try:
            return self.client.put_object(Bucket=self.bucket, Key=self.key, Body=record.payload(),
                                          ContentType="application/json", **condition)["ETag"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return None
            raise

    def claim(self, record: LeaseRecord, attempts: int = 3) -> LeaseRecord | None:
        found = self._read()
        if found is None:
            self._put(record, IfNoneMatch="*")
        else:
            current, current_etag = found
            if current is not None and not current.is_stale(record.started):
                return current
            self._put(record, IfMatch=current_etag)
        time.sleep(SETTLE_S)   # then read back: catches servers that ignore the conditions
        after = self._read()
        if after is not None and after[0] is not None:
            holder, etag = after
            if holder.owner != record.owner:
                return holder
            self.etag = etag
            return None
        if attempts <= 1:   # released or unreadable each time we looked: give up rather than spin
            raise StorageError(f"the lease at {self.where} keeps vanishing or is unreadable")
        return self.claim(record, attempts - 1)

    def renew(self, record: LeaseRecord, now: float) -> bool:
        etag = self._put(LeaseRecord(**{**asdict(record), "heartbeat": now}), IfMatch=self.etag or "*")
        if etag is None:
            return False
        self.etag = etag
        return True

    def release(self, record: LeaseRecord) -> None:
        found = self._read()
        if found is not None and found[0] is not None and found[0].owner == record.owner:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)
