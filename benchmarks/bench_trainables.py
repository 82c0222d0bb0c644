"""Trainables and helpers shared by the benchmarks (importable in Ray workers and Optuna workers).

`burn` spends a fixed amount of CPU time in a busy loop and reports once: the unit of work of
`benchmarks/overhead.py`. The helpers start Ray once with this repository importable in its
workers, run a sweep keeping all its results, and read the machine's load.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BURN_S = 1.0


def busy(seconds: float) -> float:
    """Spin this thread until it has used `seconds` of CPU time; returns a value that depends on
    the loop so that it cannot be optimised away."""
    end = time.thread_time() + seconds
    acc = 0.0
    while time.thread_time() < end:
        for i in range(2000):
            acc += i * 1e-9
    return acc


def burn(config: dict) -> None:
    """A Ray Tune function trainable: burn `burn_s` (default 1 s) of CPU, report `score` once,
    with the wall-clock start and end of the work and the worker's pid (for the timeline)."""
    from ray import tune

    started = time.time()
    busy(float(config.get("burn_s", BURN_S)))
    tune.report({"score": float(config.get("x", 0.0)), "t_start": started, "t_end": time.time(),
                 "pid": os.getpid(), "t_process": process_start_time()})


def process_start_time() -> float:
    """When this process was created (epoch seconds, Linux; 0.0 elsewhere)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
    except (OSError, ValueError, StopIteration):
        return 0.0
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def optuna_objective(trial: Any, burn_s: float = BURN_S) -> float:
    """The same work as `burn`, as an Optuna objective (one `x` in [0, 1])."""
    x = trial.suggest_float("x", 0.0, 1.0)
    busy(burn_s)
    return x


def start_ray(num_cpus: int = 2) -> float:
    """Start a local Ray whose workers can import `benchmarks.*`; returns the start-up seconds."""
    import ray

    paths = [str(ROOT), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = time.perf_counter()
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", logging_level="ERROR")
    return time.perf_counter() - started


@contextlib.contextmanager
def env(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    """Replace `owner.name` with `value` for the duration of the block."""
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def run_sweep_capturing(spec: Any, storage: str | Path) -> tuple[Any, Any]:
    """`run_sweep(spec)` into `storage`, also returning the ResultGrid of its `Tuner.fit` (the
    runner keeps only the best trial); its progress lines are dropped."""
    from ray import tune

    from orchestrator.api import run_sweep

    captured: list[Any] = []
    original = tune.Tuner.fit

    def keep(self: Any) -> Any:
        captured.append(original(self))
        return captured[-1]

    with patched(tune.Tuner, "fit", keep), open(os.devnull, "w") as devnull:
        summary = run_sweep(spec, storage=str(storage), fresh=True, quiet=True, stream=devnull)
    return summary, captured[-1]


def load() -> float:
    """The 1-minute load average (runnable processes; 2.0 fills this machine's 2 cores)."""
    return round(os.getloadavg()[0], 2)
