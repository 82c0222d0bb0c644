"""Live progress of a sweep: trial counts by state and the best result so far."""
from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from ray.tune import Callback


class ProgressView(Callback):
    """Refreshes one status line in place on a terminal; prints a line per finished trial
    when quiet or when output is not a terminal."""

    def __init__(self, metric: str, mode: str, total: int | None, *, stream: TextIO | None = None,
                 quiet: bool | None = None, refresh_s: float = 0.5) -> None:
        self.metric, self.mode, self.total = metric, mode, total
        self.stream = stream or sys.stdout
        self.live = not quiet if quiet is not None else self.stream.isatty()
        self.refresh_s = refresh_s
        self.started = time.monotonic()
        self.best: tuple[float, str, dict[str, Any]] | None = None
        self.counts: dict[str, int] = {}
        self.failed: dict[str, str] = {}
        self._last_draw = 0.0

    def __getstate__(self) -> dict[str, Any]:  # Ray pickles callbacks with the experiment
        state = dict(self.__dict__)
        state["stream"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.stream = sys.stdout

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best[0] if self.mode == "max" else value < self.best[0]

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        value = result.get(self.metric)
        if isinstance(value, (int, float)) and math.isfinite(value) and self._better(value):
            self.best = (float(value), trial.trial_id, dict(trial.config))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if not self.live:
            self._print_event(trial, "done")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        lines = str(getattr(trial, "error_msg", "") or "error").strip().splitlines()
        self.failed[trial.trial_id] = lines[0] if lines else "error"
        if not self.live:
            self._print_event(trial, "failed")

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        self.counts = counts
        now = time.monotonic()
        if self.live and now - self._last_draw >= self.refresh_s:
            self._last_draw = now
            self.stream.write("\r\033[K" + self.status_line())
            self.stream.flush()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.on_step_end(0, trials)
        if self.live:
            self.stream.write("\r\033[K" + self.status_line() + "\n")
            self.stream.flush()

    def status_line(self) -> str:
        c = self.counts
        done = c.get("TERMINATED", 0)
        total = f"/{self.total}" if self.total else ""
        best = f"best {self.metric}={self.best[0]:.4g}" if self.best else "no result yet"
        return (f"[{time.monotonic() - self.started:6.1f}s] trials {done}{total} done, "
                f"{c.get('RUNNING', 0)} running, {c.get('PENDING', 0) + c.get('PAUSED', 0)} waiting, "
                f"{c.get('ERROR', 0)} failed | {best}")

    def _print_event(self, trial: Any, what: str) -> None:
        last = trial.last_result or {}
        value = last.get(self.metric)
        shown = f"{value:.4g}" if isinstance(value, (int, float)) else "-"
        self.stream.write(f"trial {trial.trial_id} {what}: {self.metric}={shown} "
                          f"after {last.get('training_iteration', 0)} iterations | {self.status_line()}\n")
        self.stream.flush()
