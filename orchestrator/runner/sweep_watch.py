"""Ends a sweep early when its trials cannot succeed: the metric is never reported."""
from __future__ import annotations

from typing import Any

from ray.tune import Callback
from ray.tune.stopper import Stopper

from orchestrator.runner.guard import MISSING_METRIC


class SweepWatch(Callback, Stopper):
    """A callback that reads errored trials' errors and a stopper that ends the sweep on a
    fatal one. Errors are read at step end: Ray records them after `on_trial_error`."""

    def __init__(self) -> None:
        self.fatal: str | None = None
        self._seen: set[str] = set()

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


def error_text(trial: Any) -> str:
    """The errored trial's traceback text, from the error file Ray writes beside it."""
    path = getattr(trial, "error_file", None)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except (OSError, TypeError):
        return str(trial.get_error() or "")
