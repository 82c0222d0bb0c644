"""Watches a sweep: ends it early when its trials cannot succeed (the metric is never
reported), and notes trials left unfinished (an interrupted run)."""
from __future__ import annotations

from typing import Any

from ray.tune import Callback
from ray.tune.stopper import Stopper

from orchestrator.runner.guard import MISSING_METRIC
from orchestrator.runner.trial_errors import error_text


class SweepWatch(Callback, Stopper):
    """A callback that reads errored trials' errors and a stopper that ends the sweep on a
    fatal one. Errors are read at step end: Ray records them after `on_trial_error`."""

    def __init__(self) -> None:
        self.fatal: str | None = None
        self.unfinished = 0
        self._seen: set[str] = set()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.unfinished = sum(t.status in ("PENDING", "RUNNING", "PAUSED") for t in trials)

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        for trial in trials:
            if trial.status != "ERROR" or trial.trial_id in self._seen:
                continue
            self._seen.add(trial.trial_id)
            for line in error_text(trial).splitlines():
                if MISSING_METRIC in line:
                    self.fatal = line.split("Error: ", 1)[-1].strip()
                    return

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.fatal is not None
