"""Ends a sweep early when its trials cannot succeed: the metric is never reported."""
from __future__ import annotations

from typing import Any

from ray.tune import Callback
from ray.tune.stopper import Stopper

from orchestrator.runner.guard import MISSING_METRIC


class SweepWatch(Callback, Stopper):
    """A callback that sees trial errors and a stopper that ends the sweep on a fatal one."""

    def __init__(self) -> None:
        self.fatal: str | None = None

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        text = str(getattr(trial, "error_msg", "") or "")
        for line in text.splitlines():
            if MISSING_METRIC in line:
                self.fatal = line.split("Error: ", 1)[-1].strip()
                return

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.fatal is not None
