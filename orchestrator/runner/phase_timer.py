"""Wall-clock time of each phase of a run (start Ray, first trial started, sweep, shutdown, publish), so that time
spent outside the sweep shows in `hpo.log` and in `hpo run --verbose`."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Iterator

from ray.tune import Callback

PHASE_LOG_PREFIX = "hpo phase timings:"


class PhaseTimer:
    """Phases in the order they ended, each with its seconds; `total_s` counts from the timer's creation."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.phases: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase `name` (recorded even when the block raises)."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = time.monotonic() - began

    def record(self, name: str, seconds: float) -> None:
        self.phases[name] = seconds

    @property
    def total_s(self) -> float:
        return time.monotonic() - self.started

    def lines(self) -> list[str]:
        """One line per phase, then the whole run and what it spent outside the sweep."""
        total = self.total_s
        rows = [f"  {name:<22} {seconds:7.2f} s" for name, seconds in self.phases.items()]
        rows.append(f"  {'whole run':<22} {total:7.2f} s")
        if "sweep" in self.phases:
            rows.append(f"  {'outside the sweep':<22} {total - self.phases['sweep']:7.2f} s")
        return rows

    def write(self, log_file: Path) -> None:
        """Append the table to the sweep's log (`hpo.log`)."""
        log_file.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(log_file, "a", encoding="utf-8") as f:
            f.write(f"{stamp} INFO hpo: {PHASE_LOG_PREFIX}\n" + "".join(line + "\n" for line in self.lines()))


def process_age_s() -> float | None:
    """Seconds since this process started (the CLI's interpreter start, imports, reading the spec), if the OS says."""
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    except Exception:  # noqa: BLE001 - a missing figure, not an error
        return None


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
