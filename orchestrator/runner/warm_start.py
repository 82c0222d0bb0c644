"""Warm start: the finished trials of earlier sweeps (`search.warm_start`, local or S3) that fit the current space,
told to the Bayesian searcher before it suggests; values outside the new ranges or in removed branches are dropped
and counted."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import UserInputError
from orchestrator.runner.resume import read_stored_spec
from orchestrator.space.fit import DoesNotFit, fit_config
from orchestrator.spec import Spec
from orchestrator.storage import resolve_storage
from orchestrator.storage.sweep_folder import read_ray_trials

FINISHED = "TERMINATED"


@dataclass
class WarmStart:
    """The observations reused from earlier sweeps: (config fitted to the current space, metric value)."""

    observations: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    finished: int = 0                                      # finished trials read, reused or not
    dropped: Counter = field(default_factory=Counter)      # reason -> trials

    def line(self, method: str = "bayes") -> str:
        """One line for the run's output: how many were reused, and why the others were not (grid and random search
        do not use them yet: they would only skip exact repeats)."""
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items()))
        if method in ("grid", "random"):
            return f"warm start: {method} search does not use the {len(self.observations)} earlier trials that fit"
        return (f"warm start: reused {len(self.observations)} of {self.finished} finished trials"
                + (f" (dropped: {why})" if why else ""))


def load_warm_start(spec: Spec) -> WarmStart | None:
    """Read every sweep of `search.warm_start` (None when there is none); a sweep that is missing or optimised
    another metric or mode is refused in one line."""
    if not spec.search.warm_start:
        return None
    warm = WarmStart()
    for uri in spec.search.warm_start:
        sweep = resolve_storage(uri, spec.storage_options, create=False)
        stored = read_stored_spec(sweep)
        if stored is None:
            raise UserInputError(f"search.warm_start: no sweep at {sweep.display}")
        if (stored.get("metric"), stored.get("mode")) != (spec.metric, spec.mode):
            raise UserInputError(f"search.warm_start: {sweep.display} optimised {stored.get('metric')} "
                                 f"({stored.get('mode')}), this sweep {spec.metric} ({spec.mode}): not comparable")
        for trial in read_ray_trials(sweep).values():
            value = _metric_value(trial.last_result, spec.metric)
            if trial.status != FINISHED or value is None or trial.config is None:
                continue
            warm.finished += 1
            try:
                warm.observations.append((fit_config(spec.space, trial.config), value))
            except DoesNotFit as reason:
                warm.dropped[str(reason)] += 1
    return warm


def tell(search_alg: Any, warm: WarmStart | None) -> None:
    """Tell the observations to the searcher inside `search_alg` (past its wrappers) when it takes told points."""
    searcher = search_alg
    while hasattr(searcher, "searcher"):  # ConcurrencyLimiter and other wrappers
        searcher = searcher.searcher
    if warm is None or not hasattr(searcher, "add_evaluated_point"):
        return
    for config, value in warm.observations:
        searcher.add_evaluated_point(config, value)


def _metric_value(result: dict[str, Any] | None, metric: str) -> float | None:
    try:
        value = float((result or {})[metric])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
