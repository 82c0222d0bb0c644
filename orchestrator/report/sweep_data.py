"""A sweep folder as pandas frames: one row per trial, one per reported result, one per trial config.

Works on finished sweeps and on sweeps still running (no best.json yet, trials without results,
a result line half written), on local folders and S3 alike: everything is read through the
location's pyarrow filesystem.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import pandas as pd

from orchestrator.errors import UserInputError
from orchestrator.redaction import redact
from orchestrator.report import outcomes
from orchestrator.report.configs import flatten
from orchestrator.report.folder import Entry, SweepFolder
from orchestrator.report.liveness import driver_alive, is_lease_file
from orchestrator.spec.branch import BRANCH_KEY
from orchestrator.storage import Manifest, StorageLocation, resolve_storage
from orchestrator.storage.sweep_folder import ERROR_FILE, PARAMS_FILE, PUBLISHED_FOLDERS, RESULT_FILE

MAX_PARALLEL_READS = 8   # trial folders read at once (S3 latency, not bandwidth, is what costs)
ITERATION = "training_iteration"

# What a whole sweep is doing (see SweepData.status).
FINISHED, RUNNING, INTERRUPTED, FAILED = "finished", "running", "interrupted", "failed"

TRIAL_COLUMNS = ("trial_id", "number", "outcome", "ray_status", "iterations", "last_value", "best_value",
                 "best_iteration", "last_done", "error", "started", "updated")


@dataclass
class SweepData:
    """Everything a report or listing shows about one sweep.

    `trials` (index trial_id): number (1-based creation order), outcome (see `outcomes`), ray_status,
    iterations, last_value / best_value / best_iteration of the metric, last_done, error, started and
    updated (UTC timestamps). `results`: one row per report (trial_id, training_iteration, the metric
    and the other scalar values). `configs` (index trial_id): each trial's config flattened to dotted
    columns (`model.name`, `model.C`), secrets redacted.
    """

    location: StorageLocation
    name: str
    metric: str
    mode: str
    spec: dict[str, Any]
    best: Manifest | None
    trials: pd.DataFrame
    results: pd.DataFrame
    configs: pd.DataFrame
    updated: datetime | None
    alive: bool = True   # whether its driver still runs (see report.liveness)

    @property
    def uri(self) -> str:
        return self.location.uri

    @property
    def finished(self) -> bool:
        """A sweep is finished once its best.json is published (written last by the runner)."""
        return self.best is not None

    @property
    def max_t(self) -> int | None:
        return max_t_of(self.spec)

    @property
    def expected_trials(self) -> int | None:
        """num_samples from the spec (for grid search a lower bound: each grid point runs that many times)."""
        value = ((self.spec.get("search") or {}).get("num_samples"))
        return int(value) if isinstance(value, int) else None

    @property
    def status(self) -> str:
        """finished (best.json published), running (its driver is alive), interrupted (driver gone or every
        trial ended, nothing published: `hpo run --resume` continues it) or failed (ended without any
        trial reporting the metric)."""
        if self.finished:
            return FINISHED
        if self.alive and (not len(self.trials) or set(self.trials["outcome"]) - outcomes.FINISHED):
            return RUNNING
        if not self.alive and outcomes.INTERRUPTED in set(self.trials["outcome"]):
            return INTERRUPTED
        return INTERRUPTED if self.trials["best_value"].notna().any() else FAILED

    def counts(self) -> dict[str, int]:
        """Trials per outcome, every outcome present (zero when none)."""
        found = self.trials["outcome"].value_counts().to_dict() if len(self.trials) else {}
        return {name: int(found.get(name, 0)) for name in outcomes.REPORTED}

    def better(self, a: float, b: float) -> bool:
        """Whether metric value `a` beats `b` under the sweep's mode."""
        return a > b if self.mode == "max" else a < b

    def hyperparameters(self) -> list[str]:
        """The config columns that vary between trials (constants from `config:` are left out)."""
        varying = [c for c in self.configs.columns if self.configs[c].dropna().astype(str).nunique() > 1]
        branch = self.branch_key()
        return sorted(varying, key=lambda c: (c != branch, c.count("."), c))

    def branch_key(self) -> str | None:
        """The config column naming the chosen branch of a conditional choice (`model.name`), if any."""
        from_spec = [f"{key}.{BRANCH_KEY}" for key, value in (self.spec.get("space") or {}).items()
                     if isinstance(value, dict) and isinstance(value.get("choice"), dict)]
        candidates = from_spec or [c for c in self.configs.columns
                                   if c == BRANCH_KEY or c.endswith(f".{BRANCH_KEY}")]
        for column in candidates:
            if column in self.configs.columns and self.configs[column].dropna().nunique() >= 1:
                return column
        return None


def max_t_of(spec: Mapping[str, Any]) -> int | None:
    """The per-trial iteration cap a spec sets (`early_stopping.max_t`), if any."""
    value = (spec.get("early_stopping") or {}).get("max_t")
    return int(value) if isinstance(value, (int, float)) else None


def load_sweep(sweep_uri: str, storage_options: Mapping[str, Any] | None = None) -> SweepData:
    """Read the sweep at `<storage>/<name>` into frames; a folder that is no sweep is a one-line error."""
    location = resolve_storage(sweep_uri, storage_options, create=False)
    folder = SweepFolder(location)
    if not folder.exists():
        raise UserInputError(f"no sweep at {location.display}")
    entries = folder.entries()
    best = folder.best()
    spec = folder.spec() or dict(best.spec if best else {})
    metric = (best.metric if best else None) or spec.get("metric")
    mode = (best.mode if best else None) or spec.get("mode")
    if not metric or mode not in ("max", "min"):
        raise UserInputError(f"{location.display} is not a sweep folder: no spec.yaml or best/best.json "
                             f"naming its metric and mode")
    known, state_entry = folder.ray_trials(entries)
    dirs = [e for e in entries if e.is_dir and e.name not in PUBLISHED_FOLDERS and not e.name.startswith(".")]
    by_dir = {info.folder: trial_id for trial_id, info in known.items() if info.folder}

    def read(entry: Entry) -> TrialFiles | None:
        status = known[by_dir[entry.name]].status if entry.name in by_dir else None
        return read_trial_files(folder, entry.name, with_error=status in (None, "ERROR"))

    with ThreadPoolExecutor(max_workers=MAX_PARALLEL_READS, thread_name_prefix="hpo-report") as pool:
        files = {by_dir.get(e.name) or _trial_id_of(e.name, found): found
                 for e, found in zip(dirs, pool.map(read, dirs)) if found is not None}
    max_t = max_t_of(spec)

    trial_rows, result_rows, config_rows = [], [], []
    for trial_id in sorted(set(files) | set(known), key=_creation_order):
        found = files.get(trial_id, TrialFiles(config=None, rows=[], error=None))
        info = known.get(trial_id)
        config = found.config if found.config is not None else (info.config if info else None) or {}
        status = (info.status if info else None) or _guess_status(found, best is not None)
        trial_rows.append(_trial_row(trial_id, found, status, metric, mode, max_t))
        config_rows.append({"trial_id": trial_id, **flatten(redact(config))})
        result_rows += [_result_row(trial_id, row) for row in found.rows]

    trials = pd.DataFrame(trial_rows, columns=list(TRIAL_COLUMNS)).set_index("trial_id", drop=False)
    trials["number"] = range(1, len(trials) + 1)
    results = pd.DataFrame(result_rows) if result_rows else pd.DataFrame(columns=["trial_id", ITERATION, metric])
    configs = pd.DataFrame(config_rows).set_index("trial_id") if config_rows else pd.DataFrame()
    stamps = [t for t in [state_entry.mtime if state_entry else None, *trials["updated"]] if t is not None]
    updated = max(map(_as_datetime, stamps), default=None)
    alive = best is None and driver_alive(lease_mtime(entries), [updated, *(e.mtime for e in entries if not e.is_dir)])
    if best is None and not alive:
        trials["outcome"] = trials["outcome"].replace({outcomes.RUNNING: outcomes.INTERRUPTED,
                                                       outcomes.PENDING: outcomes.INTERRUPTED})
    return SweepData(location=location, name=folder.name, metric=metric, mode=mode, spec=spec, best=best,
                     trials=trials, results=results, configs=configs, updated=updated, alive=alive)


def lease_mtime(entries: list[Entry]) -> datetime | None:
    """When the driver last touched its lease / heartbeat file, if the sweep folder has one."""
    return max((e.mtime for e in entries if not e.is_dir and e.mtime and is_lease_file(e.name)), default=None)


@dataclass(frozen=True)
class TrialFiles:
    """What one trial folder holds: its config (params.json), its results, the last line of error.txt."""

    config: dict[str, Any] | None
    rows: list[dict[str, Any]]
    error: str | None


def read_trial_files(folder: SweepFolder, name: str, *, with_error: bool) -> TrialFiles | None:
    """A trial folder's files; None for a folder that holds no trial. error.txt is read only when asked
    (one request fewer per trial on S3)."""
    config = folder.read_json(name, PARAMS_FILE)
    rows = folder.read_json_lines(name, RESULT_FILE)
    if config is None and not rows:
        return None
    raw = folder.read_bytes(name, ERROR_FILE) if with_error else None
    return TrialFiles(config=config if isinstance(config, dict) else None, rows=rows, error=error_line(raw))


def error_line(raw: bytes | None) -> str | None:
    """The line of a trial's error.txt that says what went wrong (its last: the exception); None without one."""
    lines = [line.strip() for line in (raw or b"").decode("utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ("error" if raw is not None else None)


def _creation_order(trial_id: str) -> tuple[int, str]:
    """Ray numbers the trials of a sweep in the order it creates them: `<run prefix>_<counter>`."""
    counter = trial_id.rsplit("_", 1)[-1]
    return (int(counter) if counter.isdigit() else 1 << 30, trial_id)


def _trial_id_of(dirname: str, found: TrialFiles) -> str:
    """A trial's id when Ray's experiment state does not name its folder: from its results, else from
    the folder name `<sweep>_<trial id>` (Ray's ids look like `a7a4c_00004`)."""
    from_rows = next((str(r["trial_id"]) for r in found.rows if r.get("trial_id")), None)
    return from_rows or "_".join(dirname.split("_")[-2:])


def _guess_status(found: TrialFiles, sweep_finished: bool) -> str:
    """Ray's status for a trial the experiment state does not (yet) list."""
    rows = found.rows
    if found.error is not None:
        return "ERROR"
    if sweep_finished or (rows and rows[-1].get("done")):
        return "TERMINATED"
    return "RUNNING" if rows else "PENDING"


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


finite = _finite                   # public names, for the dashboard's incremental reader
creation_order = _creation_order


def _trial_row(trial_id: str, found: TrialFiles, status: str, metric: str, mode: str, max_t: int | None
               ) -> dict[str, Any]:
    rows = found.rows
    values = [(_finite(r.get(metric)), r.get(ITERATION)) for r in rows]
    scored = [(v, it) for v, it in values if v is not None]
    pick = max if mode == "max" else min
    best_value, best_iteration = pick(scored, key=lambda p: p[0]) if scored else (None, None)
    last = rows[-1] if rows else {}
    iterations = last.get(ITERATION)
    done = bool(last.get("done"))
    stamps = [r["timestamp"] for r in rows if isinstance(r.get("timestamp"), (int, float))]
    started = (stamps[0] - float(rows[0].get("time_total_s") or 0.0)) if stamps else None
    return {
        "trial_id": trial_id, "number": 0,
        "outcome": outcomes.outcome(status, done, iterations, max_t), "ray_status": status,
        "iterations": int(iterations) if isinstance(iterations, int) else 0,
        "last_value": _finite(last.get(metric)), "best_value": best_value, "best_iteration": best_iteration,
        "last_done": done, "error": found.error,
        "started": _as_datetime(started), "updated": _as_datetime(stamps[-1] if stamps else None),
    }


def _result_row(trial_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """A logged result without its config (that lives in `configs`) and without non-scalar values."""
    kept = {k: v for k, v in row.items() if isinstance(v, (int, float, str, bool)) and k != "config"}
    kept["trial_id"] = trial_id
    return kept


def _as_datetime(value: Any) -> datetime | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return datetime.fromtimestamp(float(value), tz=timezone.utc)
