"""`run_sweep`: a spec in, a finished Ray Tune sweep and a published best checkpoint out."""
from __future__ import annotations

import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

from ray.tune.stopper import Stopper

from orchestrator.compat import replace_restored_callbacks
from orchestrator.errors import HpoError, SweepFailed, UserInputError
from orchestrator.redaction import merge_secrets, redact, split_secrets
from orchestrator.runner.best_result import select_best
from orchestrator.runner.guard import guard
from orchestrator.runner.progress import ProgressView
from orchestrator.runner.resume import check_resumable, read_stored_spec, write_stored_spec
from orchestrator.runner.sweep_watch import SweepWatch
from orchestrator.runner.trial_errors import last_line
from orchestrator.runner.ray_session import cluster_code, connect, own_loggers, quiet_ray, reattach_logs, release_logs
from orchestrator.spec import Spec, load_spec
from orchestrator.storage import Manifest, StorageLocation, preflight, publish_best, resolve_storage
from orchestrator.storage.sweep_folder import LOG_FILE


class SweepInterrupted(HpoError):
    """Ctrl-C: Ray saved the sweep's state; the message says how to resume."""

    exit_code = 130


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


def resolve_trainable(ref: str) -> Callable[[dict], None]:
    """The trainable function a spec names; a bad reference is a one-line user error."""
    from trainables.registry import resolve

    try:
        return resolve(ref)
    except LookupError as exc:
        raise UserInputError(f"trainable: {exc}") from None


def run_sweep(spec: Spec | str | Path, *, address: str | None = None, storage: str | None = None,
              overrides: Sequence[str] = (), resume: bool = False, fresh: bool = False,
              quiet: bool | None = None, stream: TextIO | None = None) -> SweepResult:
    """Run (or resume) the sweep a spec describes and publish its best checkpoint.

    `address`: a Ray cluster (auto, ray://host:10001, host:6379); default an embedded local
    Ray. `storage` overrides the spec's storage root. `fresh` replaces an existing sweep of
    the same name; without it (and without `resume`) an existing sweep is refused, so that
    finished work is never overwritten.
    """
    from ray import tune

    if not isinstance(spec, Spec):
        spec = load_spec(spec, overrides)
    root = resolve_storage(storage or spec.storage, spec.storage_options)
    preflight(root)
    sweep = root.join(spec.name)
    trainable = resolve_trainable(spec.trainable)
    _, secrets = split_secrets(spec.config)  # they reach trials through `guard`, never Ray
    exists = tune.Tuner.can_restore(sweep.path, storage_filesystem=sweep.filesystem) \
        if _has_experiment(sweep) else False
    if resume and not exists:
        raise UserInputError(f"nothing to resume: no sweep at {sweep.display}")
    if resume:
        check_resumable(read_stored_spec(sweep), redact(spec.raw), sweep.display)
    if exists and not resume:
        if not fresh:
            raise UserInputError(f"{sweep.display} already holds a sweep: add --resume to continue it, "
                                 f"--fresh to replace it, or --set name=<new name>")
        sweep.filesystem.delete_dir(sweep.path)

    log_path = _log_path(sweep)
    handler = quiet_ray(log_path)
    try:
        with cluster_code(spec, address) as runtime_env:
            dashboard = connect(address, runtime_env=runtime_env)
        reattach_logs(handler)
        if dashboard:
            (stream or sys.stdout).write(f"dashboard: {dashboard}\n")
        spec = _without_missing_gpus(spec, local=address is None, stream=stream or sys.stdout)
        expected = _expected_trials(spec)
        view = ProgressView(spec.metric, spec.mode, expected, stream=stream, quiet=quiet,
                            max_t=spec.early_stopping.max_t)
        watch = SweepWatch()
        build = _restore_tuner if resume else _new_tuner
        tuner = build(spec, sweep, guard(trainable, spec.metric, spec.trial_timeout_s, secrets), [view, watch])
        if not resume:
            write_stored_spec(sweep, redact(spec.raw))
        started = time.monotonic()
        with own_loggers():
            results = tuner.fit()
        elapsed = time.monotonic() - started
    except KeyboardInterrupt:  # before Ray Tune took over Ctrl-C
        raise SweepInterrupted(_resume_hint(spec, sweep, storage)) from None
    finally:
        release_logs(handler)
    if watch.fatal:
        raise UserInputError(watch.fatal)
    out_of_time = spec.time_budget_s is not None and elapsed >= 0.95 * spec.time_budget_s
    if not out_of_time and (watch.unfinished or (expected is not None and len(results) < expected)):
        raise SweepInterrupted(_resume_hint(spec, sweep, storage))

    failures = {(r.metrics or {}).get("trial_id", f"#{i}"): last_line(str(r.error), type(r.error).__name__)
                for i, r in enumerate(results) if r.error is not None}
    best = select_best(results, spec.metric, spec.mode)
    if best is None:
        if failures:
            common, count = Counter(failures.values()).most_common(1)[0]
            raise SweepFailed(f"all {len(results)} trials failed; most common error ({count}x): {common}")
        raise SweepFailed(f"no trial reported a finite {spec.metric!r}; check the trainable's reports")
    # the secrets never went through Ray: show their keys, never their values
    shown_config = redact(merge_secrets(best.config, secrets))
    manifest = Manifest(
        name=spec.name, sweep_uri=sweep.uri, config=shown_config, metric=spec.metric,
        metric_value=best.metric_value, mode=spec.mode, trial_id=best.trial_id,
        iteration=best.iteration, spec=redact(spec.raw), versions=versions(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        num_trials=len(results), num_failed=len(failures),
    )
    published = publish_best(sweep, best.checkpoint, manifest)
    return SweepResult(
        name=spec.name, sweep_uri=sweep.uri, metric=spec.metric, mode=spec.mode,
        best_config=shown_config, best_metric=best.metric_value, best_trial_id=best.trial_id,
        best_iteration=best.iteration, published_uri=published, num_trials=len(results),
        failures=failures, dashboard_url=dashboard, log_file=str(log_path),
    )


def _without_missing_gpus(spec: Spec, *, local: bool, stream: TextIO) -> Spec:
    """On a local Ray with no GPU, trials asking for one would wait forever: say so in one
    line and run them on CPU. Clusters keep the request (an autoscaler may add GPU nodes)."""
    import ray

    if not local or spec.resources.gpu <= 0 or ray.cluster_resources().get("GPU", 0) > 0:
        return spec
    stream.write(f"hpo: no GPU on this machine: running the trials on CPU "
                 f"(resources.gpu {spec.resources.gpu:g} ignored)\n")
    return replace(spec, resources=replace(spec.resources, gpu=0.0))


def _tuner_parts(spec: Spec, sweep: StorageLocation, trainable: Callable, callbacks: list) -> dict[str, Any]:
    """Everything a Tuner needs that a new run and a resumed run share."""
    from ray import tune

    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    from orchestrator.schedulers import build_stopper

    resources = {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu}
    run_config = tune.RunConfig(
        name=spec.name,
        storage_path=str(Path(sweep.path).parent) if not sweep.is_s3 else sweep.path.rsplit("/", 1)[0],
        storage_filesystem=sweep.filesystem,
        stop=_combine(build_stopper(spec), *[c for c in callbacks if isinstance(c, Stopper)]),
        failure_config=tune.FailureConfig(max_failures=spec.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=spec.checkpoint_keep,
                                                checkpoint_score_attribute=spec.metric,
                                                checkpoint_score_order=spec.mode),
        # result.json/params.json (reports, ResultGrid) and progress.csv; Ray's default
        # TensorBoard logger costs a third of the per-trial gap and imports torch in the driver
        callbacks=[*callbacks, JsonLoggerCallback(), CSVLoggerCallback()],
        verbose=0,
    )
    return {"trainable": tune.with_resources(trainable, resources), "run_config": run_config}


def param_space_of(spec: Spec) -> dict[str, Any]:
    """The spec's constants and compiled search space, as one Ray param_space."""
    from orchestrator.space import to_param_space

    public, _ = split_secrets(spec.config)  # secrets reach trials through `guard`, not Ray
    return {**public, **to_param_space(spec.space, grid=spec.search.method == "grid")}


@dataclass(frozen=True)
class TrialName:
    """`<sweep>_<trial id>`: trials read well in the dashboard. A class, not a lambda over the
    spec, because Ray pickles it into tuner.pkl and the spec holds secrets."""

    sweep: str

    def __call__(self, trial: Any) -> str:
        return f"{self.sweep}_{trial.trial_id}"


def _new_tuner(spec: Spec, sweep: StorageLocation, trainable: Callable, callbacks: list) -> Any:
    from ray import tune

    from orchestrator.schedulers import build_scheduler
    from orchestrator.searchers import build_search_algorithm

    param_space = param_space_of(spec)
    parts = _tuner_parts(spec, sweep, trainable, callbacks)
    tune_config = tune.TuneConfig(
        metric=spec.metric, mode=spec.mode,
        search_alg=build_search_algorithm(spec, param_space),
        scheduler=build_scheduler(spec),
        num_samples=spec.search.num_samples,
        time_budget_s=spec.time_budget_s,
        reuse_actors=True,
        trial_name_creator=TrialName(spec.name),
        trial_dirname_creator=TrialName(spec.name),
    )
    return tune.Tuner(parts["trainable"], param_space=param_space, tune_config=tune_config,
                      run_config=parts["run_config"])


def _restore_tuner(spec: Spec, sweep: StorageLocation, trainable: Callable, callbacks: list) -> Any:
    """Ray restores the run config it pickled; this process's callbacks and stoppers replace
    the pickled ones."""
    from ray import tune

    parts = _tuner_parts(spec, sweep, trainable, callbacks)
    tuner = tune.Tuner.restore(sweep.path, parts["trainable"], resume_unfinished=True, resume_errored=True,
                               param_space=param_space_of(spec), storage_filesystem=sweep.filesystem)
    replace_restored_callbacks(tuner, parts["run_config"].callbacks, parts["run_config"].stop)
    return tuner


def _combine(*stoppers: Any) -> Any:
    from ray.tune.stopper import CombinedStopper

    found = [s for s in stoppers if s is not None]
    return None if not found else found[0] if len(found) == 1 else CombinedStopper(*found)


def _resume_hint(spec: Spec, sweep: StorageLocation, storage: str | None) -> str:
    """What to tell a user whose sweep stopped early (Ctrl-C): where its state is, how to go on."""
    if not _has_experiment(sweep):
        return "interrupted before any trial started; nothing to resume"
    return (f"interrupted; the sweep's state is saved in {sweep.display}. Resume with: "
            f"hpo run {spec.source_file or '<spec>'} --resume" + (f" --storage {storage}" if storage else ""))


def _expected_trials(spec: Spec) -> int | None:
    from orchestrator.space import grid_size

    if spec.search.method == "grid":
        return grid_size(spec.space) * spec.search.num_samples
    return spec.search.num_samples


def _has_experiment(sweep: StorageLocation) -> bool:
    import pyarrow.fs as pafs

    info = sweep.filesystem.get_file_info(sweep.path)
    return info.type == pafs.FileType.Directory


def _log_path(sweep: StorageLocation) -> Path:
    """Full logs go into the sweep folder when it is local, else into a local temp folder."""
    if not sweep.is_s3:
        return Path(sweep.path) / LOG_FILE
    return Path(tempfile.gettempdir()) / "hpo-logs" / f"{sweep.path.replace('/', '_')}.log"


def versions() -> dict[str, str]:
    """Versions that matter to reproduce a sweep."""
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for dist in ("hpo", "ray", "scikit-optimize", "scikit-learn", "torch", "numpy"):
        try:
            found[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return found
