"""The Ray Tune callback that times the phases inside a fit: when the first trial started, and the fit's wind-down."""
from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback

from orchestrator.runner.phase_timer import PhaseTimer


class SweepClock(Callback):
    """A Ray Tune callback that records, as phases, how long after the fit began the first trial started running
    (`first trial started`) and how long the fit took to return after its last trial ended (`sweep wind-down`)."""

    def __init__(self, timer: PhaseTimer) -> None:
        self._timer = timer
        self._began = self._ended = time.monotonic()

    def setup(self, **info: Any) -> None:
        self._began = time.monotonic()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if "first trial started" not in self._timer.phases:
            self._timer.record("first trial started", time.monotonic() - self._began)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._ended = time.monotonic()

    def wind_down(self) -> None:
        """Call as the fit returns: records `sweep wind-down`."""
        self._timer.record("sweep wind-down", time.monotonic() - self._ended)

    def __getstate__(self) -> dict[str, Any]:   # Ray pickles callbacks into its experiment state
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._timer, self._began = PhaseTimer(), time.monotonic()
