"""The JSON the dashboard serves: one summary per sweep (`GET /api/sweeps`) and one sweep's page data
(`GET /api/sweeps/<name>`), bounded in size whatever the sweep's: the leaderboard is paged, and the curves
and parallel coordinates cover the MAX_CURVES best trials, each curve thinned to CURVE_POINTS points."""
from __future__ import annotations

import math
import statistics
from datetime import datetime, timezone
from typing import Any

from orchestrator.dashboard.live_sweep import LiveSweep, LiveTrial
from orchestrator.report import outcomes
from orchestrator.report.sweep_data import creation_order
from orchestrator.spec.branch import BRANCH_KEY

MAX_CURVES = 200       # trials drawn in the learning curves and parallel coordinates (the best ones)
CURVE_POINTS = 40      # points per drawn learning curve at most
MAX_POINTS = 500       # points of the best-so-far line at most
PER_PAGE, MAX_PER_PAGE = 50, 500


def summary(sweep: LiveSweep, by_trial: dict[str, str] | None = None) -> dict[str, Any]:
    """One sweep's line of the overview (`by_trial`: its trials' outcomes, when already known)."""
    by_trial = sweep.outcomes() if by_trial is None else by_trial
    best = sweep.best_trial()
    counts = {name: 0 for name in outcomes.REPORTED}
    for outcome in by_trial.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    started = min((t.started for t in sweep.trials.values() if t.started), default=None)
    updated = max((t.updated for t in sweep.trials.values() if t.updated), default=None)
    if sweep.newest_write is not None:
        updated = max(updated or 0.0, sweep.newest_write.timestamp())
    return {
        "name": sweep.name, "uri": sweep.location.uri, "status": sweep.status(by_trial),
        "metric": sweep.metric, "mode": sweep.mode, "trials": len(sweep.trials), "counts": counts,
        "expected_trials": (sweep.spec.get("search") or {}).get("num_samples"),
        "best": None if best is None else {"value": best.best_value, "trial_id": best.trial_id,
                                           "iteration": best.best_iteration},
        "started": _iso(started), "updated": _iso(updated), "problems": list(sweep.problems),
        "driver": _driver(sweep),
    }


def detail(sweep: LiveSweep, page: int = 1, per_page: int = PER_PAGE, storage_flags: str = "") -> dict[str, Any]:
    """Everything a sweep page draws, with leaderboard page `page` (1-based) of `per_page` rows."""
    by_trial = sweep.outcomes()
    ranked = _ranked(sweep)
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    pages = max(1, math.ceil(len(ranked) / per_page))
    page = max(1, min(int(page), pages))
    params = hyperparameters(sweep)
    drawn = [t for t in ranked[:MAX_CURVES] if t.values]
    uri = sweep.location.uri
    return {
        **summary(sweep, by_trial),
        "hyperparameters": params,
        "best_so_far": best_so_far(sweep),
        "curves": [{"trial_id": t.trial_id, "outcome": by_trial[t.trial_id], "points": _thin(t)} for t in drawn],
        "curves_shown": len(drawn), "curves_of": sum(1 for t in sweep.trials.values() if t.values),
        "parallel": {"params": params, "rows": [
            {"trial_id": t.trial_id, "value": t.best_value, "config": {p: t.config.get(p) for p in params}}
            for t in drawn if t.best_value is not None]},
        "branches": branches(sweep, params),
        "failed": [{"trial_id": t.trial_id, "error": t.error or "error"}
                   for t in sweep.trials.values() if by_trial[t.trial_id] == outcomes.FAILED],
        "leaderboard": {
            "page": page, "pages": pages, "per_page": per_page, "total": len(ranked),
            "columns": ["rank", "trial_id", "outcome", "best", "at_iteration", "iterations", *params],
            "rows": [[rank, t.trial_id, by_trial[t.trial_id], t.best_value, t.best_iteration,
                      t.iterations[-1] if t.iterations else 0, *(t.config.get(p) for p in params)]
                     for rank, t in enumerate(ranked[(page - 1) * per_page: page * per_page],
                                              start=(page - 1) * per_page + 1)],
        },
        "commands": {"best": f"hpo best {uri}{storage_flags}",
                     "fetch": f"hpo fetch {uri} --to ./best{storage_flags}"} if sweep.best is not None else {},
        "ray_dashboard": _ray_dashboard(sweep),
        "max_t": sweep.max_t,
    }


def hyperparameters(sweep: LiveSweep) -> list[str]:
    """Config keys whose value differs between trials, the branch key first (as in the report)."""
    seen: dict[str, set[str]] = {}
    for trial in sweep.trials.values():
        for key, value in trial.config.items():
            values = seen.setdefault(key, set())
            if len(values) < 2:
                values.add(repr(value))
    varying = [key for key, values in seen.items() if len(values) > 1]
    return sorted(varying, key=lambda c: (not c.endswith(BRANCH_KEY), c.count("."), c))


def best_so_far(sweep: LiveSweep) -> list[list[float]]:
    """[seconds since the sweep started, best value] at every improvement of the sweep's best."""
    events = sorted(p for t in sweep.trials.values() for p in t.improvements)
    started = min((t.started for t in sweep.trials.values() if t.started), default=None)
    points, best = [], None
    for stamp, value in events:
        if best is None or (value > best if sweep.mode == "max" else value < best):
            best = value
            points.append([round(stamp - (started or events[0][0]), 3), value])
    return _thin_points(points, MAX_POINTS)


def branches(sweep: LiveSweep, params: list[str]) -> list[dict[str, Any]]:
    """Per algorithm branch (the value of a conditional choice's branch key among `params`): trials, best,
    median."""
    key = next((k for k in params if k == BRANCH_KEY or k.endswith(f".{BRANCH_KEY}")), None)
    if key is None:
        return []
    groups: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for trial in sweep.trials.values():
        name = str(trial.config.get(key))
        counts[name] = counts.get(name, 0) + 1
        if trial.best_value is not None:
            groups.setdefault(name, []).append(trial.best_value)
    pick = max if sweep.mode == "max" else min
    return [{"branch": name, "key": key, "trials": counts[name],
             "best": pick(groups[name]) if groups.get(name) else None,
             "median": statistics.median(groups[name]) if groups.get(name) else None,
             "values": sorted(groups.get(name, []))[-MAX_CURVES:]} for name in sorted(counts)]


def _ranked(sweep: LiveSweep) -> list[LiveTrial]:
    """Trials best first; trials without a value last, in creation order."""
    sign = -1.0 if sweep.mode == "max" else 1.0
    return sorted(sweep.trials.values(), key=lambda t: (t.best_value is None, sign * (t.best_value or 0.0),
                                                        creation_order(t.trial_id)))


def _thin(trial: LiveTrial) -> list[list[Any]]:
    """[iteration, value] pairs of a learning curve, at most CURVE_POINTS, values to 6 significant digits."""
    pairs = [[i, float(f"{v:.6g}")] for i, v in zip(trial.iterations, trial.values) if v is not None]
    return _thin_points(pairs, CURVE_POINTS)


def _thin_points(points: list[list[Any]], most: int) -> list[list[Any]]:
    """At most `most` of `points`, evenly spaced, the last always kept."""
    if len(points) <= most:
        return points
    step = len(points) / most
    return [points[int(k * step)] for k in range(most - 1)] + [points[-1]]


def _ray_dashboard(sweep: LiveSweep) -> str | None:
    """The Ray dashboard of the cluster that runs the sweep, when its driver's lease names it."""
    for key in ("ray_dashboard", "dashboard_url", "dashboard"):
        url = sweep.lease_info.get(key)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return None


def _driver(sweep: LiveSweep) -> str | None:
    """Who holds the sweep, from its lease (`.hpo-lease.json`: command, host, pid), while it runs."""
    info = sweep.lease_info
    if sweep.best is not None or not sweep.alive() or not info.get("host"):
        return None
    return f"{info.get('command', 'driver')} on {info['host']}, pid {info.get('pid', '?')}"


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")
