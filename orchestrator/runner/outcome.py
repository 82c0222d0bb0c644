"""How a sweep ended: finished with a best trial, interrupted (resumable), stopped by a fatal trial error, or
failed with nothing to publish."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from orchestrator.errors import HpoError, SweepFailed, UserInputError
from orchestrator.runner.best_result import BestChoice, select_best
from orchestrator.runner.claim import has_experiment
from orchestrator.runner.sweep_watch import SweepWatch
from orchestrator.runner.trial_errors import last_line
from orchestrator.spec import Spec
from orchestrator.storage import StorageLocation

OUT_OF_TIME = 0.95   # of time_budget_s: a sweep that ran this long stopped for its budget, not by interruption


class SweepInterrupted(HpoError):
    """Ctrl-C: Ray saved the sweep's state; the message says how to resume."""

    exit_code = 130


@dataclass(frozen=True)
class Finished:
    """A sweep that ran to its end (or its time budget) with a best trial."""

    best: BestChoice
    num_trials: int
    failures: dict[str, str]   # trial id -> the last line of its error


def judge(results: Any, watch: SweepWatch, spec: Spec, *, expected: int | None, elapsed_s: float,
          hint: Callable[[], str]) -> Finished:
    """The finished sweep in `results` (a ResultGrid), or the one-line error that says why there is none;
    `hint` tells an interrupted sweep how to resume."""
    if watch.fatal:
        raise UserInputError(watch.fatal)
    out_of_time = spec.time_budget_s is not None and elapsed_s >= OUT_OF_TIME * spec.time_budget_s
    if not out_of_time and (watch.unfinished or (expected is not None and len(results) < expected)):
        raise SweepInterrupted(hint())
    failures = {(r.metrics or {}).get("trial_id", f"#{i}"): last_line(str(r.error), type(r.error).__name__)
                for i, r in enumerate(results) if r.error is not None}
    best = select_best(results, spec.metric, spec.mode)
    if best is None:
        if failures:
            common, count = Counter(failures.values()).most_common(1)[0]
            raise SweepFailed(f"all {len(results)} trials failed; most common error ({count}x): {common}")
        raise SweepFailed(f"no trial reported a finite {spec.metric!r}; check the trainable's reports")
    return Finished(best=best, num_trials=len(results), failures=failures)


def resume_hint(spec: Spec, sweep: StorageLocation, storage: str | None) -> str:
    """What to tell a user whose sweep stopped early (Ctrl-C): where its state is, how to go on."""
    if not has_experiment(sweep):
        return "interrupted before any trial started; nothing to resume"
    return (f"interrupted; the sweep's state is saved in {sweep.display}. Resume with: "
            f"hpo run {spec.source_file or '<spec>'} --resume" + (f" --storage {storage}" if storage else ""))
