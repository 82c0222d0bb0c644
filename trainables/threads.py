"""How many CPU threads a trial's math libraries (BLAS, OpenMP, torch) may use.

Trials run side by side on shared cores; a BLAS pool per trial sized to the whole machine
oversubscribes it (measured here: logistic regression on digits went from 0.1 s to 9 s of
CPU). Config key `threads` sets the count; by default a Tune trial gets the CPUs Ray
assigned it, and a call outside Ray gets 1.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any


def trial_threads(config: Mapping[str, Any]) -> int:
    """`config["threads"]`, else the trial's assigned CPUs (at least 1), else 1."""
    if config.get("threads") is not None:
        return max(1, int(config["threads"]))
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            with contextlib.suppress(Exception):  # not inside a task or actor
                cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
                return max(1, int(cpus))
    return 1


@contextlib.contextmanager
def limited_threads(config: Mapping[str, Any]) -> Iterator[int]:
    """Limit BLAS/OpenMP pools (and torch, when loaded) to the trial's threads inside."""
    from threadpoolctl import threadpool_limits

    count = trial_threads(config)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(count)
    with threadpool_limits(limits=count):
        yield count
