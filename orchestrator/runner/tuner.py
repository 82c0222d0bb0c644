"""The Ray Tune `Tuner` of a sweep, new or restored from its folder, and its fit."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from orchestrator.compat import extend_sample_budget, replace_restored_callbacks
from orchestrator.redaction import split_secrets
from orchestrator.runner.extension import expected_trials
from orchestrator.runner.ray_session import own_loggers
from orchestrator.runner.warm_start import WarmStart, tell
from orchestrator.spec import Spec
from orchestrator.storage import StorageLocation


def build_tuner(spec: Spec, sweep: StorageLocation, trainable: Callable, callbacks: list, *, resume: bool,
                warm: WarmStart | None = None) -> Any:
    """The Tuner that runs `trainable` over the spec's space into `sweep` (restored from it when `resume`), with
    `callbacks` (Ray Tune callbacks; those that are also stoppers can end the sweep); a new one's searcher is told
    the `warm` start's observations."""
    if resume:
        return _restore_tuner(spec, sweep, trainable, callbacks)
    return _new_tuner(spec, sweep, trainable, callbacks, warm)


def fit(tuner: Any) -> tuple[Any, float]:
    """Run the sweep: its ResultGrid and the seconds it took."""
    started = time.monotonic()
    with own_loggers():
        results = tuner.fit()
    return results, time.monotonic() - started


def _tuner_parts(spec: Spec, sweep: StorageLocation, trainable: Callable, callbacks: list) -> dict[str, Any]:
    """Everything a Tuner needs that a new run and a resumed run share."""
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback
    from ray.tune.stopper import Stopper

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


def _new_tuner(spec: Spec, sweep: StorageLocation, trainable: Callable, callbacks: list,
               warm: WarmStart | None) -> Any:
    from ray import tune

    from orchestrator.schedulers import build_scheduler
    from orchestrator.searchers import build_search_algorithm

    param_space = param_space_of(spec)
    parts = _tuner_parts(spec, sweep, trainable, callbacks)
    search_alg = build_search_algorithm(spec, param_space)
    tell(search_alg, warm)
    tune_config = tune.TuneConfig(
        metric=spec.metric, mode=spec.mode,
        search_alg=search_alg,
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
    extend_sample_budget(tuner, expected_trials(spec) or 0)  # a larger num_samples: only the extra trials run
    return tuner


def _combine(*stoppers: Any) -> Any:
    from ray.tune.stopper import CombinedStopper

    found = [s for s in stoppers if s is not None]
    return None if not found else found[0] if len(found) == 1 else CombinedStopper(*found)
