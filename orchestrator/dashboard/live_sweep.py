"""One sweep folder kept in memory and brought up to date incrementally: each refresh lists the folder once
and reads only what changed since the last one (the bytes appended to each trial's result.json, a new
params.json or error.txt, a rewritten experiment state), so a refresh of a 5,000-trial sweep on S3 costs
one paged LIST plus a HEAD and a ranged GET per trial that reported. Never writes, never raises on a bad folder:
what cannot be read is kept as a `problem` line shown on the page.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

import yaml

from orchestrator.errors import HpoError
from orchestrator.redaction import redact, redact_text
from orchestrator.report import outcomes
from orchestrator.report.configs import flatten
from orchestrator.report.folder import FileEntry, SweepFolder
from orchestrator.report.liveness import driver_alive, is_lease_file
from orchestrator.report.sweep_data import (
    FAILED, FINISHED, INTERRUPTED, ITERATION, MAX_PARALLEL_READS, RUNNING, error_line, finite, max_t_of,
)
from orchestrator.storage import StorageLocation
from orchestrator.storage.sweep_folder import (
    BEST_FOLDER, BEST_MANIFEST, ERROR_FILE, PARAMS_FILE, PUBLISHED_FOLDERS, RESULT_FILE, SPEC_FILE, Manifest,
    is_experiment_state, ray_trials,
)

T = TypeVar("T")
CORRUPT = "corrupt"   # a sweep folder whose spec or manifest cannot be read: shown as such


@dataclass
class LiveTrial:
    """What the page shows of one trial, grown line by line as its result.json grows."""

    trial_id: str
    folder: str
    config: dict[str, Any] = field(default_factory=dict)   # flattened, secrets redacted
    ray_status: str | None = None
    error: str | None = None
    offset: int = 0                                         # bytes of result.json consumed so far
    iterations: list[int] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)
    best_value: float | None = None
    best_iteration: int | None = None
    improvements: list[tuple[float, float]] = field(default_factory=list)   # (timestamp, new best)
    started: float | None = None
    updated: float | None = None
    last_done: bool = False
    bad_lines: int = 0

    def add_rows(self, rows: list[dict[str, Any]], metric: str, mode: str) -> None:
        """Take in the result rows appended since the last read."""
        for row in rows:
            iteration = row.get(ITERATION)
            value = finite(row.get(metric))
            stamp = finite(row.get("timestamp"))
            self.iterations.append(int(iteration) if isinstance(iteration, int) else len(self.iterations) + 1)
            self.values.append(value)
            self.last_done = bool(row.get("done"))
            if stamp is not None:
                if self.started is None:
                    self.started = stamp - float(finite(row.get("time_total_s")) or 0.0)
                self.updated = stamp
            if value is not None and (self.best_value is None or
                                      (value > self.best_value if mode == "max" else value < self.best_value)):
                self.best_value, self.best_iteration = value, self.iterations[-1]
                if stamp is not None:
                    self.improvements.append((stamp, value))

    def outcome(self, sweep_finished: bool, max_t: int | None) -> str:
        status = self.ray_status or ("ERROR" if self.error else "TERMINATED" if sweep_finished or self.last_done
                                     else "RUNNING" if self.values else "PENDING")
        return outcomes.outcome(status, self.last_done, self.iterations[-1] if self.iterations else None, max_t)


@dataclass
class _Seen:
    """Size and time of a file when it was last read: read again only when either changed."""

    size: int
    mtime: datetime | None


class LiveSweep:
    """A sweep folder read incrementally; `refresh()` then `summary()` / `trials()`."""

    def __init__(self, location: StorageLocation) -> None:
        self.location = location
        self.folder = SweepFolder(location)
        self.name = self.folder.name
        self.spec: dict[str, Any] = {}
        self.best: Manifest | None = None
        self.metric: str | None = None
        self.mode: str | None = None
        self.trials: dict[str, LiveTrial] = {}
        self._problems: dict[str, str] = {}   # what could not be read, by the file (or step) it concerns
        self._by_folder: dict[str, str] = {}  # trial folder -> trial id
        self.lease: datetime | None = None
        self.lease_info: dict[str, Any] = {}
        self.newest_write: datetime | None = None
        self.refreshed_at = 0.0
        self.is_sweep = False        # holds a spec, a manifest or Ray's state (else: some other folder)
        self.requests = 0            # listings and file reads made so far: bounded per refresh
        self.version = 0             # bumped by every refresh that found something new
        self.newest_row: float | None = None   # the newest result timestamp of any trial
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    # --- reading ------------------------------------------------------------------------------------------------

    def read_consistently(self, compute: Callable[[], T]) -> T:
        """`compute()` while no refresh changes the trials under it."""
        with self._lock:
            return compute()

    def due(self, max_age_s: float) -> bool:
        """Whether a refresh would read anything: never read yet, or older than `max_age_s` and not finished."""
        return not self.refreshed_at or (self.best is None and time.monotonic() - self.refreshed_at >= max_age_s)

    def refresh(self, max_age_s: float = 0.0) -> None:
        """Read what changed since the last refresh (at most once per `max_age_s`); a finished sweep, once read
        in full, is never listed again. Problems are recorded, never raised."""
        with self._lock:
            if time.monotonic() - self.refreshed_at < max_age_s or (self.best is not None and self.refreshed_at):
                return
            try:
                self._refresh()
            except (HpoError, OSError, ValueError, TypeError, KeyError) as exc:
                self._problem("folder", f"cannot read the sweep folder: {redact_text(str(exc)).splitlines()[0][:300]}")
            self.refreshed_at = time.monotonic()

    def _refresh(self) -> None:
        files = self.folder.files()
        self._problems.pop("folder", None)
        self.requests += 1
        self.newest_write = max((f.mtime for f in files if f.mtime), default=None)
        self.is_sweep = any(f.path == SPEC_FILE or is_experiment_state(f.path) or f.path.startswith(BEST_FOLDER + "/")
                            for f in files)
        leases = [f for f in files if "/" not in f.path and f.mtime and is_lease_file(f.path)]
        self.lease = max((f.mtime for f in leases), default=None)
        changed = [f for f in files if self._changed(f)]
        for lease in leases:
            if lease in changed:
                self._read_lease(lease.path)
        try:
            self._read_changed(files, changed)
        finally:
            self.version += bool(changed)   # after the reads: an answer cached for the old version is stale now

    def _read_changed(self, files: list[FileEntry], changed: list[FileEntry]) -> None:
        by_path = {f.path: f for f in changed}
        if SPEC_FILE in by_path:
            self._read_spec()
        if f"{BEST_FOLDER}/{BEST_MANIFEST}" in by_path:
            self._read_best()
        self.metric = (self.best.metric if self.best else None) or self.spec.get("metric")
        self.mode = (self.best.mode if self.best else None) or self.spec.get("mode")
        if not self.metric or self.mode not in ("max", "min"):
            self._problem("metric", "no spec.yaml or best/best.json naming the metric and mode (not a sweep, "
                                    "or not yet)")
            self._seen.clear()   # read it all once the spec says what the metric is
            return
        self._problems.pop("metric", None)
        states = sorted(f.path for f in files if "/" not in f.path and is_experiment_state(f.path))
        if states and states[-1] in by_path:
            self._read_state(states[-1])
        reads = [read for read in map(self._trial_read, changed) if read is not None]
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_READS, thread_name_prefix="hpo-dashboard") as pool:
            chunks = list(pool.map(self._fetch, reads))   # S3 latency, not bandwidth, is what costs
        self.requests += len(reads)
        for (entry, trial, start), chunk in zip(reads, chunks):
            base = entry.path.rsplit("/", 1)[-1]
            if chunk is None:
                continue
            if base == RESULT_FILE:
                self._take_results(trial, entry, chunk)
            elif base == PARAMS_FILE:
                self._take_params(trial, chunk)
            else:
                trial.error = redact_text(error_line(chunk) or "error")

    def _trial_read(self, entry: FileEntry) -> tuple[FileEntry, LiveTrial, int] | None:
        """(file, its trial, the byte to read from) for a changed trial file worth reading, else None."""
        folder, _, base = entry.path.partition("/")
        if base not in (RESULT_FILE, PARAMS_FILE, ERROR_FILE) or folder in PUBLISHED_FOLDERS or folder.startswith("."):
            return None
        trial = self._trial(folder)
        if base != RESULT_FILE:
            return entry, trial, 0
        if entry.size < trial.offset:   # rewritten from scratch (a restored trial): read it again
            trial = self.trials[trial.trial_id] = LiveTrial(trial.trial_id, folder, trial.config, trial.ray_status,
                                                             trial.error)
        return (entry, trial, trial.offset) if entry.size > trial.offset else None

    def _fetch(self, read: tuple[FileEntry, LiveTrial, int]) -> bytes | None:
        """The new bytes of one trial file; None (and read again next time) if it vanished or failed."""
        entry, _, start = read
        try:
            return self.folder.read_range(entry.path, start, entry.size)
        except HpoError:
            self._seen.pop(entry.path, None)
            return None

    def _changed(self, entry: FileEntry) -> bool:
        seen = self._seen.get(entry.path)
        if seen is not None and seen.size == entry.size and seen.mtime == entry.mtime:
            return False
        self._seen[entry.path] = _Seen(entry.size, entry.mtime)
        return True

    def _read(self, path: str) -> bytes | None:
        self.requests += 1
        return self.folder.read_bytes(*path.split("/"))

    def _read_lease(self, name: str) -> None:
        """What the driver's lease says about itself (a JSON object), e.g. the Ray dashboard of its cluster."""
        try:
            info = json.loads(self._read(name) or b"")
        except ValueError:
            return
        if isinstance(info, dict):
            self.lease_info = redact(info)

    def _read_spec(self) -> None:
        try:
            spec = yaml.safe_load(self._read(SPEC_FILE) or b"")
        except yaml.YAMLError as exc:
            self._problem(SPEC_FILE, f"{SPEC_FILE} is not valid YAML: {str(exc).splitlines()[0]}")
            return
        if isinstance(spec, dict):
            self.spec = redact(spec)
            self._problems.pop(SPEC_FILE, None)
        else:
            self._problem(SPEC_FILE, f"{SPEC_FILE} holds no mapping")

    def _read_best(self) -> None:
        raw = self._read(f"{BEST_FOLDER}/{BEST_MANIFEST}")
        try:
            best = json.loads(raw) if raw else None
        except ValueError:
            best = None
        if isinstance(best, dict):
            self.best = Manifest.from_json(best)
            self.spec = self.spec or redact(dict(self.best.spec))
            self._problems.pop(BEST_MANIFEST, None)
        else:
            self._problem(BEST_MANIFEST, f"{BEST_FOLDER}/{BEST_MANIFEST} is half-written or not JSON")

    def _read_state(self, name: str) -> None:
        raw = self._read(name)
        try:
            state = json.loads(raw) if raw else None
        except ValueError:
            return   # Ray rewrites it atomically on local disks; a torn read elsewhere waits for the next refresh
        for trial_id, info in ray_trials(state).items():
            if not info.folder:
                continue
            trial = self._trial(info.folder, trial_id)
            trial.ray_status = info.status
            if info.config and not trial.config:
                trial.config = flatten(redact(info.config))

    def _take_params(self, trial: LiveTrial, raw: bytes) -> None:
        try:
            config = json.loads(raw)
        except ValueError:
            return
        if isinstance(config, dict):
            trial.config = flatten(redact(config))

    def _take_results(self, trial: LiveTrial, entry: FileEntry, chunk: bytes) -> None:
        complete = chunk[: chunk.rfind(b"\n") + 1]   # a line still being written waits for the next refresh
        trial.offset += len(complete)
        rows = []
        for line in complete.decode("utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line) if line.strip() else None
            except ValueError:
                row = None
            if isinstance(row, dict):
                rows.append(row)
            elif line.strip():
                trial.bad_lines += 1
        trial.add_rows(rows, self.metric or "", self.mode or "max")
        if trial.updated is not None and (self.newest_row is None or trial.updated > self.newest_row):
            self.newest_row = trial.updated
        if trial.bad_lines:
            self._problem(entry.path, f"{RESULT_FILE} of {trial.trial_id}: {trial.bad_lines} unreadable "
                                      f"line(s) skipped")

    def _trial(self, folder: str, trial_id: str | None = None) -> LiveTrial:
        """The trial of a folder, created on first sight; Ray's state names its id, else the folder does."""
        known = self._by_folder.get(folder)
        if trial_id is not None and known is not None and known != trial_id:   # the state corrects a guess
            self.trials[trial_id] = self.trials.pop(known)
            self.trials[trial_id].trial_id = trial_id
        trial_id = trial_id or known or "_".join(folder.split("_")[-2:])   # Ray's folders: <name>_<trial id>
        self._by_folder[folder] = trial_id
        found = self.trials.get(trial_id)
        if found is None:
            found = self.trials[trial_id] = LiveTrial(trial_id, folder)
        return found

    def _problem(self, key: str, line: str) -> None:
        self._problems[key] = line

    @property
    def problems(self) -> list[str]:
        """One line per thing in the folder that could not be read (yet)."""
        return list(self._problems.values())

    # --- what it shows ------------------------------------------------------------------------------------------

    @property
    def max_t(self) -> int | None:
        return max_t_of(self.spec)

    def alive(self) -> bool:
        newest_row = self.newest_row
        writes = [self.newest_write, datetime.fromtimestamp(newest_row, timezone.utc) if newest_row else None]
        return self.best is None and driver_alive(self.lease, writes)

    def outcomes(self) -> dict[str, str]:
        """trial id -> outcome; a trial left pending or running by a driver that is gone is interrupted."""
        alive, finished, max_t = self.alive(), self.best is not None, self.max_t
        found = {}
        for trial_id, trial in self.trials.items():
            outcome = trial.outcome(finished, max_t)
            if not alive and not finished and outcome in (outcomes.PENDING, outcomes.RUNNING):
                outcome = outcomes.INTERRUPTED
            found[trial_id] = outcome
        return found

    def status(self, by_trial: dict[str, str]) -> str:
        """finished, running, interrupted or failed (the rule of report.SweepData.status), or corrupt."""
        if self.metric is None:
            return CORRUPT
        if self.best is not None:
            return FINISHED
        ended = set(by_trial.values()) <= outcomes.FINISHED
        if self.alive() and not (ended and by_trial):
            return RUNNING
        if outcomes.INTERRUPTED in by_trial.values():
            return INTERRUPTED
        return INTERRUPTED if any(t.best_value is not None for t in self.trials.values()) else FAILED

    def best_trial(self) -> LiveTrial | None:
        scored = [t for t in self.trials.values() if t.best_value is not None]
        if not scored:
            return None
        return max(scored, key=lambda t: t.best_value) if self.mode == "max" else \
            min(scored, key=lambda t: t.best_value)
