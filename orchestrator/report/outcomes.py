"""How a trial ended, in the words the progress view and the report both use.

Ray Tune only knows PENDING/RUNNING/PAUSED/TERMINATED/ERROR; "stopped early" is ours. Ray marks
the result on which a scheduler (ASHA, HyperBand, median) or a stopper ended a trial with
`done: true`, while a trainable that simply returns leaves its last logged result `done: false`.
A trial stopped at the `max_t` cap ran its full budget, so it counts as done, not as stopped.
"""
from __future__ import annotations

PENDING = "pending"
RUNNING = "running"
DONE = "done"
STOPPED = "stopped early"
FAILED = "failed"
INTERRUPTED = "interrupted"   # was pending or running when its sweep's driver went away (see report.liveness)

# The order in which views list the outcomes: the trial's life from start to end.
OUTCOMES: tuple[str, ...] = (PENDING, RUNNING, DONE, STOPPED, FAILED)
FINISHED: frozenset[str] = frozenset({DONE, STOPPED, FAILED})
# What a report of a sweep read from its folder can show: the live outcomes plus INTERRUPTED.
REPORTED: tuple[str, ...] = (*OUTCOMES, INTERRUPTED)
ENDED: frozenset[str] = FINISHED | {INTERRUPTED}

_BY_RAY_STATUS = {"PENDING": PENDING, "PAUSED": PENDING, "RUNNING": RUNNING, "ERROR": FAILED}


def stopped_early(last_done: bool, iteration: int | None, max_t: int | None) -> bool:
    """Whether a trial that finished was cut short by a scheduler or stopper.

    `last_done` is the `done` flag of the last result the trial logged, `iteration` that
    result's `training_iteration`, `max_t` the per-trial iteration cap if the sweep has one.
    """
    if not last_done:
        return False
    return max_t is None or iteration is None or iteration < max_t


def outcome(ray_status: str, last_done: bool, iteration: int | None, max_t: int | None) -> str:
    """The outcome of a trial from Ray's status and its last logged result."""
    if ray_status in _BY_RAY_STATUS:
        return _BY_RAY_STATUS[ray_status]
    return STOPPED if stopped_early(last_done, iteration, max_t) else DONE
