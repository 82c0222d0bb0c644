"""Wall-clock time of each phase of a run (start Ray, first trial started, sweep, shutdown, publish), so that time
spent outside the sweep shows in `hpo.log` and in `hpo run --verbose`."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, Iterator

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
    """Seconds since this process started (the CLI's interpreter start, imports, reading the spec), if the OS says:
    from /proc on Linux (psutil comes with Ray, which the CLI imports only later), else from psutil when importable."""
    try:
        ticks = float(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return max(0.0, float(Path("/proc/uptime").read_text().split()[0]) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    except Exception:  # noqa: BLE001 - a missing figure, not an error
        return None


def __getattr__(name: str) -> Any:
    """`SweepClock` moved to `runner.sweep_clock` (this module stays free of Ray Tune, which the CLI imports only
    once Ray's start is under way); the experiment state of a sweep started before names it here."""
    if name == "SweepClock":
        from orchestrator.runner.sweep_clock import SweepClock

        return SweepClock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
