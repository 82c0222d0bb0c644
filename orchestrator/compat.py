"""Every use of a private Ray or scikit-optimize API, each behind one small function, so that an upgrade has one
file to check. Checked against ray 2.60.0 and scikit-optimize 0.10.2; nothing is imported until a function runs
(trial code imports this module inside Ray workers).

Two subclasses of Ray classes cannot live here (Ray pickles them by module path with the experiment, and defining them
needs Ray imported): check them on an upgrade too.
- `orchestrator.schedulers.median_stopping.MedianOfUnstopped` overrides `MedianStoppingRule._trials_beyond_time` and
  reads its `_stopped_trials`.
- `orchestrator.searchers.repeat_skipping.RepeatSkippingGenerator` drops a trial from `BasicVariantGenerator.
  _live_trials` and adds a draw to `_iterators[-1].num_samples_left`.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Ray's logger for "Uploading package ..." lines while a job's runtime_env is shipped (no public name for it).
RUNTIME_ENV_PACKAGING_LOGGER = "ray._private.runtime_env.packaging"


def in_tune_session() -> bool:
    """Whether this code runs inside a Ray Tune trial. Ray's public `tune.get_context()` returns a context outside a
    trial too, so the session itself is asked; Ray is never imported when it is not loaded already."""
    if "ray" not in sys.modules:
        return False
    from ray.train._internal.session import get_session

    return get_session() is not None


def dashboard_address() -> str | None:
    """The dashboard's host:port of the Ray this process is connected to. Only `ray.init`'s return value carries it
    publicly, and a Ray joined earlier (tests, notebooks, a job's driver) gives no such value."""
    import ray

    return ray._private.worker.global_worker.node.address_info.get("webui_url")


def dashboard_frontend_missing() -> Path | None:
    """The folder Ray's dashboard serves its web page from, when this Ray install lacks it; else None. Without it the
    dashboard process cannot start its HTTP server yet stays alive, and `ray.init` waits for it the whole
    `RAY_DASHBOARD_STARTUP_TIMEOUT_S` (60 s) on every run (measured: start Ray 65 s instead of 10.5 s on a 16-core
    machine, with a Ray wheel stripped of `ray/dashboard/client`). Where the folder is comes from
    `ray/dashboard/http_server_head.py: setup_static_dir` (not a public API)."""
    import importlib.util

    found = importlib.util.find_spec("ray.dashboard")
    if found is None or not found.submodule_search_locations:
        return None
    build = Path(next(iter(found.submodule_search_locations))) / "client" / "build"
    return None if build.is_dir() else build


def ray_cluster_file() -> Path:
    """The file in which `ray start` names the cluster that `ray.init(address="auto")` joins: Ray's default temp dir
    (RAY_TMPDIR, TMPDIR or /tmp, then ray/) holds `ray_current_cluster`; Ray has no public name for it."""
    from ray._common.utils import get_ray_address_file

    return Path(get_ray_address_file(None))


def replace_restored_callbacks(tuner: Any, callbacks: list, stop: Any) -> None:
    """Put this process's callbacks and stopper into a restored Tuner's run config in place of the pickled ones:
    `Tuner.restore` takes no run config and Ray offers no public setter."""
    restored = tuner._local_tuner.get_run_config()
    restored.callbacks = callbacks
    restored.stop = stop


def white_kernel_param(kernel: Any) -> tuple[bool, str]:
    """(whether a WhiteKernel is a term of the Sum `kernel`, its key in `kernel.get_params()`): skopt's GP finds its
    noise term this way, and the searcher must find the same one."""
    from skopt.learning.gaussian_process.gpr import _param_for_white_kernel_in_Sum

    return _param_for_white_kernel_in_Sum(kernel)


def extend_sample_budget(tuner: Any, total_trials: int) -> None:
    """Let a restored Tuner create trials until `total_trials` exist (a finished sweep extended by `--resume --set
    search.num_samples=N`). Ray restores the search algorithm's sample budget from the experiment state and offers
    no public way to raise it (ray-project/ray#42221), so the search algorithm handed to the restored run is one whose
    restore raises it: a Searcher keeps every observation it was told, a grid or random generator samples on (a grid
    by whole repeats). Checked against ray 2.60.0."""
    from ray.tune.search import SearchAlgorithm

    tune_config = tuner._local_tuner._tune_config
    restored = tune_config.search_alg
    if isinstance(restored, SearchAlgorithm):  # grid and random: Ray's BasicVariantGenerator (or a subclass)
        tune_config.search_alg = _extended_variant_generator(total_trials, type(restored))
    else:
        tune_config.search_alg = _extended_search_generator(restored, total_trials)


def _extended_search_generator(searcher: Any, total_trials: int) -> Any:
    from ray.tune.search.search_generator import SearchGenerator

    class ExtendedSearchGenerator(SearchGenerator):
        def restore_from_dir(self, dirpath: str) -> None:
            super().restore_from_dir(dirpath)
            if total_trials > self._total_samples:
                self._total_samples, self._finished = total_trials, False

    return ExtendedSearchGenerator(searcher)


def _extended_variant_generator(total_trials: int, generator_class: type) -> Any:
    class ExtendedVariantGenerator(generator_class):  # the restored one's class: a subclass keeps its behaviour
        def restore_from_dir(self, dirpath: str) -> None:
            super().restore_from_dir(dirpath)  # replaces every attribute, random state included
            last = self._iterators[-1]
            per_repeat = self._total_samples // max(1, last.num_samples)
            extra_repeats = (total_trials - self._total_samples) // max(1, per_repeat)
            if extra_repeats > 0:
                last.num_samples += extra_repeats
                last.num_samples_left += extra_repeats
                self._total_samples += extra_repeats * per_repeat
                self._finished = False
                self.set_state(self.get_state())  # re-chains the iterators

    return ExtendedVariantGenerator()
