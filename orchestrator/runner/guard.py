"""Guards around a trial: its metric must be reported and finite, and it must not hang.

The trainable runs wrapped in `guard(...)` inside the Ray worker. Reports go through
`ray.tune.report`; for the duration of the trial that function checks each result first, so
a NaN/inf metric fails the trial (Ray retries it from its last checkpoint, up to
`failures.max_failures`) instead of reaching the searcher, and a metric the trainable never
reports is named at its first result. A watchdog ends a trial that runs past
`failures.trial_timeout_s`: an exception raised in the trial's thread, then, if the trial
is stuck outside Python, the worker process is ended so Ray retries the trial.
"""
from __future__ import annotations

import ctypes
import functools
import math
import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

MISSING_METRIC = "reported no metric"   # marks the error the runner turns into a user error
TIMEOUT_GRACE_S = 5.0


class TrialMetricError(RuntimeError):
    """A result whose metric is NaN or infinite."""


class MissingMetricError(TrialMetricError):
    """A result without the spec's metric; the message names what the trainable did report."""


class TrialTimeout(RuntimeError):
    """The trial ran past `failures.trial_timeout_s`."""


def check_result(metrics: dict[str, Any], metric: str) -> None:
    """Raise if `metrics` lacks `metric` or holds a non-finite value for it."""
    if metric not in metrics:
        reported = ", ".join(sorted(str(k) for k in metrics)) or "nothing"
        raise MissingMetricError(f"trainable {MISSING_METRIC} {metric!r}; it reported: {reported}")
    value = metrics[metric]
    try:
        finite = math.isfinite(float(value))
    except (TypeError, ValueError):
        raise TrialMetricError(f"metric {metric!r} is not a number: {value!r}") from None
    if not finite:
        raise TrialMetricError(f"metric {metric!r} is {value} (not finite)")


@contextmanager
def checked_reports(metric: str) -> Iterator[None]:
    """Check every `ray.tune.report` call of this process against `metric` while inside."""
    from ray import tune

    original = tune.report

    @functools.wraps(original)
    def report(metrics: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        check_result(metrics, metric)
        return original(metrics, *args, **kwargs)

    tune.report = report
    try:
        yield
    finally:
        tune.report = original


@contextmanager
def watchdog(timeout_s: float | None) -> Iterator[None]:
    """End the calling thread's work after `timeout_s` (an exception, then the process)."""
    if not timeout_s:
        yield
        return
    target = threading.get_ident()
    finished = threading.Event()

    def fire() -> None:
        if finished.is_set():
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(TrialTimeout))
        if not finished.wait(TIMEOUT_GRACE_S):
            print(f"hpo: trial exceeded trial_timeout_s={timeout_s:g}; ending its worker", file=sys.stderr,
                  flush=True)
            os._exit(124)

    timer = threading.Thread(target=lambda: finished.wait(timeout_s) or fire(), daemon=True)
    timer.start()
    try:
        yield
    except TrialTimeout:
        raise TrialTimeout(f"trial exceeded trial_timeout_s={timeout_s:g}") from None
    finally:
        finished.set()


def guard(trainable: Callable[[dict], None], metric: str, timeout_s: float | None = None,
          secrets: dict[str, Any] | None = None) -> Callable[[dict], None]:
    """`trainable` with its reports checked, its run time bounded, and the spec's secret
    constants put back into its config (they travel in this closure, never in Ray's
    param_space, so Ray writes them nowhere)."""
    from orchestrator.redaction import merge_secrets

    @functools.wraps(trainable)
    def guarded(config: dict) -> None:
        with checked_reports(metric), watchdog(timeout_s):
            trainable(merge_secrets(config, secrets) if secrets else config)

    return guarded
