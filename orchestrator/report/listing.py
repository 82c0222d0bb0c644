"""`hpo ls STORAGE`: the sweeps under a storage root, with status, trial counts, best metric and date.

A finished sweep is summarised from its best.json alone (one small read); a sweep without one is
read trial by trial to tell running from interrupted or failed.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from orchestrator.errors import UserInputError
from orchestrator.report import outcomes
from orchestrator.report.folder import SweepFolder
from orchestrator.report.sweep_data import FINISHED, MAX_PARALLEL_READS, load_sweep
from orchestrator.storage import StorageLocation, resolve_storage
from orchestrator.storage.sweep_folder import SPEC_FILE, is_experiment_state


@dataclass(frozen=True)
class SweepSummary:
    """One line of `hpo ls`."""

    name: str
    uri: str
    status: str
    trials: int
    finished_trials: int
    running: int
    failed: int
    metric: str | None
    mode: str | None
    best_value: float | None
    date: datetime | None


def list_sweeps(storage_uri: str, storage_options: Mapping[str, Any] | None = None) -> list[SweepSummary]:
    """Every sweep folder directly under `storage_uri`, by name; folders that are no sweep are skipped."""
    root = resolve_storage(storage_uri, storage_options, create=False)
    folder = SweepFolder(root)
    if not folder.exists():
        raise UserInputError(f"no storage folder at {root.display}")
    names = [e.name for e in folder.entries() if e.is_dir and not e.name.startswith(".")]
    with ThreadPoolExecutor(max_workers=MAX_PARALLEL_READS, thread_name_prefix="hpo-ls") as pool:
        found = pool.map(lambda name: summarize(root.join(name)), names)
    return sorted((s for s in found if s is not None), key=lambda s: s.name)


def summarize(location: StorageLocation) -> SweepSummary | None:
    """The summary of the sweep at `location`, or None if the folder holds no sweep."""
    folder = SweepFolder(location)
    best = folder.best()
    if best is not None:
        total, failed = int(best.num_trials or 0), int(best.num_failed or 0)
        return SweepSummary(name=folder.name, uri=location.uri, status=FINISHED, trials=total,
                            finished_trials=total, running=0, failed=failed, metric=best.metric,
                            mode=best.mode, best_value=best.metric_value, date=_parse_date(best.created))
    entries = {e.name for e in folder.entries()}
    if SPEC_FILE not in entries and not any(is_experiment_state(n) for n in entries):
        return None
    try:
        data = load_sweep(location.uri, location.options)
    except UserInputError:
        return None
    counts = data.counts()
    scored = data.trials["best_value"].dropna()
    best_value = (scored.max() if data.mode == "max" else scored.min()) if len(scored) else None
    return SweepSummary(name=data.name, uri=data.uri, status=data.status, trials=len(data.trials),
                        finished_trials=sum(counts[o] for o in outcomes.ENDED),
                        running=counts[outcomes.RUNNING], failed=counts[outcomes.FAILED], metric=data.metric,
                        mode=data.mode, best_value=None if best_value is None else float(best_value),
                        date=data.updated)


def format_table(summaries: list[SweepSummary]) -> list[str]:
    """The lines `hpo ls` prints: a header and one aligned row per sweep."""
    header = ("NAME", "STATUS", "TRIALS", "FAILED", "BEST", "DATE (UTC)")
    rows = [header]
    for s in summaries:
        trials = str(s.trials) if s.status == FINISHED else \
            f"{s.finished_trials}/{s.trials} ended" + (f", {s.running} running" if s.running else "")
        best = f"{s.metric}={s.best_value:.5g} ({s.mode})" if s.best_value is not None else "-"
        date = f"{s.date:%Y-%m-%d %H:%M}" if s.date else "-"
        rows.append((s.name, s.status, trials, str(s.failed), best, date))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def _parse_date(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None
