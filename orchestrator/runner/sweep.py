"""`run_sweep`: a spec in, a finished Ray Tune sweep and a published best checkpoint out, in named phases:
open the sweep folder, start Ray, build the Tuner, fit, judge how it ended, publish the best."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TextIO

from orchestrator.errors import UserInputError
from orchestrator.redaction import redact, split_secrets
from orchestrator.runner.claim import claim_sweep, sweep_location
from orchestrator.runner.extension import expected_trials
from orchestrator.runner.guard import guard
from orchestrator.runner.job_driver import leave_job_working_dir
from orchestrator.runner.phase_timer import PhaseTimer
from orchestrator.runner.outcome import SweepInterrupted, judge, resume_hint
from orchestrator.runner.publication import publish
from orchestrator.runner.ray_session import log_path, ray_session, without_missing_gpus
from orchestrator.runner.resume import write_stored_spec
from orchestrator.runner.sweep_clock import SweepClock
from orchestrator.runner.sweep_watch import SweepWatch
from orchestrator.runner.tuner import TrialName, build_tuner, fit, param_space_of
from orchestrator.runner.warm_start import expected_after_warm_start, load_warm_start
from orchestrator.spec import Spec
from orchestrator.storage import StorageLocation
from orchestrator.storage.lease import Lease, hold_lease

# TrialName stays importable here: the tuner.pkl of a sweep started before the Tuner's assembly moved to
# `runner.tuner` names it by this path, and resuming that sweep unpickles it.
__all__ = ["SweepInterrupted", "SweepResult", "TrialName", "expected_trials", "param_space_of", "resolve_trainable",
           "run_sweep"]


@dataclass
class SweepResult:
    """What a finished sweep produced; `best_*` are None when no trial reported the metric."""

    name: str
    sweep_uri: str
    metric: str
    mode: str
    best_config: dict[str, Any] | None
    best_metric: float | None
    best_trial_id: str | None
    best_iteration: int | None
    published_uri: str | None
    num_trials: int
    failures: dict[str, str] = field(default_factory=dict)   # trial id -> first line of its error
    dashboard_url: str | None = None
    log_file: str | None = None
    phase_timings: list[str] = field(default_factory=list)  # lines of the phase table (also in hpo.log)


def resolve_trainable(ref: str) -> Callable[[dict], None]:
    """The trainable function a spec names; a bad reference is a one-line user error."""
    from orchestrator.extensions.trainables import resolve

    try:
        return resolve(ref)
    except LookupError as exc:
        raise UserInputError(f"trainable: {exc}") from None


def run_sweep(spec: Spec, *, address: str | None = None, storage: str | None = None, resume: bool = False,
              fresh: bool = False, stream: TextIO | None = None, callbacks: Sequence[Any] = ()) -> SweepResult:
    """Run (or resume) the sweep `spec` describes and publish its best checkpoint; `callbacks` are Ray Tune
    callbacks to add (a progress view). See `orchestrator.api.run_sweep` for the other arguments."""
    sweep = sweep_location(spec, storage)
    trainable = resolve_trainable(spec.trainable)
    leave_job_working_dir()
    with hold_lease(sweep, "hpo run --resume" if resume else "hpo run") as lease:   # one writer per sweep
        return _run_leased(spec, sweep, trainable, lease, address=address, storage=storage, resume=resume,
                           fresh=fresh, stream=stream, callbacks=callbacks)


def _run_leased(spec: Spec, sweep: StorageLocation, trainable: Callable[[dict], None], lease: Lease, *,
                address: str | None, storage: str | None, resume: bool, fresh: bool, stream: TextIO | None,
                callbacks: Sequence[Any]) -> SweepResult:
    out = stream or sys.stdout
    _, secrets = split_secrets(spec.config)  # they reach trials through `guard`, never Ray
    # a resumed searcher holds them already; a resumed grid needs them only to count the trials it skips
    warm = None if resume and spec.search.method != "grid" else load_warm_start(spec)
    expected = expected_after_warm_start(spec, warm)
    if expected == 0:
        raise UserInputError("search.warm_start: its sweeps evaluated every grid point already; nothing to run")
    claim_sweep(sweep, spec, resume=resume, fresh=fresh)
    for callback in callbacks:  # a progress view counts the trials the warm start leaves out of a grid
        if hasattr(callback, "expect_trials"):
            callback.expect_trials(expected)
    if warm is not None:
        out.write(warm.line(spec) + "\n")
    log_file = log_path(sweep)
    watch, timer = SweepWatch(), PhaseTimer()
    clock = SweepClock(timer)
    try:
        with ray_session(spec, address, log_file, timer) as dashboard:
            if dashboard:
                out.write(f"dashboard: {dashboard} (asks for a token? `ray get-auth-token` prints it)\n")
                lease.announce_dashboard(dashboard)
            spec = without_missing_gpus(spec, local=address is None, stream=out)
            tuner = build_tuner(spec, sweep, guard(trainable, spec.metric, spec.trial_timeout_s, secrets),
                                [*callbacks, watch, clock], resume=resume, warm=warm)
            write_stored_spec(sweep, redact(spec.raw))  # on resume too: an extended sweep keeps its num_samples
            with timer.phase("sweep"):
                results, elapsed_s = fit(tuner)
            clock.wind_down()
    except KeyboardInterrupt:  # before Ray Tune took over Ctrl-C
        raise SweepInterrupted(resume_hint(spec, sweep, storage)) from None
    try:
        finished = judge(results, watch, spec, expected=expected, elapsed_s=elapsed_s,
                         hint=lambda: resume_hint(spec, sweep, storage))
        with timer.phase("publish"):
            manifest, published = publish(spec, sweep, finished, secrets)
    finally:
        timer.write(log_file)   # a failed or interrupted sweep's timings too
    best = finished.best
    return SweepResult(
        name=spec.name, sweep_uri=sweep.uri, metric=spec.metric, mode=spec.mode,
        best_config=manifest.config, best_metric=best.metric_value, best_trial_id=best.trial_id,
        best_iteration=best.iteration, published_uri=published, num_trials=finished.num_trials,
        failures=finished.failures, dashboard_url=dashboard, log_file=str(log_file), phase_timings=timer.lines(),
    )
