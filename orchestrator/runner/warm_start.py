"""Warm start: the finished trials of earlier sweeps (`search.warm_start`, local or S3) that fit the current space,
told to the Bayesian searcher before it suggests, or to grid and random search so that they skip exact repeats;
values outside the new ranges or in removed branches are dropped and counted."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import UserInputError
from orchestrator.runner.extension import expected_trials
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
    _grid_skips: dict[int, int] = field(default_factory=dict, repr=False)  # num_samples -> grid trials skipped

    def line(self, spec: Spec) -> str:
        """One line for the run's output: how many were reused and how, and why the others were not."""
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items()))
        line = (f"warm start: reused {len(self.observations)} of {self.finished} finished trials"
                + (f" (dropped: {why})" if why else ""))
        if spec.search.method == "random":
            return line + "; random search draws again where it would repeat one of them"
        if spec.search.method == "grid":
            total, skips = expected_trials(spec) or 0, self.grid_skips(spec)
            return (line + f"; grid search skips {skips} of its {total} trials, evaluated there already: "
                    f"{total - skips} to run")
        return line

    def grid_skips(self, spec: Spec) -> int:
        """The trials grid search leaves out because an earlier trial evaluated their grid point (0 for others);
        counted once per sample count (each count compiles the grid and walks the earlier trials; the observations
        were fitted to one space, the spec's, so the count depends on the spec only through its sample count)."""
        if spec.search.method != "grid":
            return 0
        key = spec.search.num_samples
        if key not in self._grid_skips:
            from orchestrator.searchers.repeat_skipping import planned_skips  # imports Ray

            self._grid_skips[key] = planned_skips(spec.space, (config for config, _ in self.observations),
                                                  spec.search.num_samples)
        return self._grid_skips[key]


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
    """Tell the observations to the searcher inside `search_alg` (past its wrappers) when it takes told points, or
    their configs to grid and random search, which skip repeats of them."""
    searcher = search_alg
    while hasattr(searcher, "searcher"):  # ConcurrencyLimiter and other wrappers
        searcher = searcher.searcher
    if warm is None:
        return
    if hasattr(searcher, "skip_repeats_of"):
        searcher.skip_repeats_of(config for config, _ in warm.observations)
    elif hasattr(searcher, "tell_warm_start"):   # SkOptSearch: keeps a few initial points to explore
        searcher.tell_warm_start(warm.observations)
    elif hasattr(searcher, "add_evaluated_point"):
        for config, value in warm.observations:
            searcher.add_evaluated_point(config, value)


def expected_after_warm_start(spec: Spec, warm: WarmStart | None) -> int | None:
    """The trials the sweep runs: `expected_trials`, less the grid points the warm start evaluated already."""
    total = expected_trials(spec)
    return total if total is None or warm is None else total - warm.grid_skips(spec)


def _metric_value(result: dict[str, Any] | None, metric: str) -> float | None:
    try:
        value = float((result or {})[metric])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
