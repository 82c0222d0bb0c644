"""Starting the embedded local Ray, optionally in a background thread begun as soon as the CLI has read a valid spec:
Ray's start (launching some 10-20 processes, then polling for them) then overlaps the driver's imports of Ray Tune and
the trainable, its lease and its claim of the sweep folder, instead of following them."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time

from orchestrator.compat import dashboard_frontend_missing

# Ray's console chatter (banners, per-trial tables, deprecation hints) goes to the sweep's log; set before Ray starts,
# since its processes read them at start.
QUIET_ENV = {
    "RAY_AIR_NEW_OUTPUT": "0",
    "RAY_DEDUP_LOGS": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "3600",
    "TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S": "3600",
}
# ERROR while Ray starts hides its banners (the runner re-attaches Ray's loggers to the sweep's log afterwards).
INIT_OPTIONS = {"log_to_driver": False, "logging_level": logging.ERROR}
_KEEP_ALIVE_POLL_S = 0.5
RAY_DASHBOARD_ENV = "HPO_RAY_DASHBOARD"


def quiet_env() -> None:
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def join_target(address: str | None) -> str | None:
    """The Ray to join, or None for a fresh local one: `--address` as given; without it, RAY_ADDRESS, which only a
    user or a Ray job sets (a job's driver is meant to join the cluster it runs in), "local" meaning local."""
    from_env = os.environ.get("RAY_ADDRESS", "").strip()
    target = (address or "").strip() or from_env
    if target == "auto" and from_env not in ("", "auto", "local"):
        target = from_env   # what ray.init would join
    return None if target in ("", "local") else target


def init_local(**options: object) -> None:
    """`ray.init` of a fresh local Ray (`address="local"`: no cluster file is read, no running cluster is joined by
    accident) whose workers import from the working directory as this driver does."""
    import ray

    _workers_see_cwd()
    ray.init(address="local", _node_ip_address=os.environ.get("HPO_NODE_IP", "127.0.0.1"),
             include_dashboard=None if wants_ray_dashboard() else False, **options)


def wants_ray_dashboard() -> bool:
    """Whether the embedded local Ray serves Ray's dashboard: `HPO_RAY_DASHBOARD=1` (`hpo run --ray-dashboard`), and
    this Ray install can serve it: one without the dashboard's web page would hold every start for 60 s (said once)."""
    if os.environ.get(RAY_DASHBOARD_ENV, "0").strip().lower() not in ("1", "true", "yes", "on"):
        return False
    missing = dashboard_frontend_missing()
    if missing is not None:
        sys.stderr.write(f"hpo: Ray's dashboard cannot start in this Ray install ({missing} is missing; Ray would "
                         "wait 60 s for it): starting Ray without it\n")
        return False
    return True


def _workers_see_cwd() -> None:
    """Local workers inherit our environment: put the working directory on their PYTHONPATH
    so a user's `package.module:function` trainable imports there as it does here."""
    cwd = os.getcwd()
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if cwd not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([cwd, *parts])


class _BackgroundStart:
    """`init_local` in a daemon thread that then stays alive while Ray runs, since Ray's processes die with the thread
    that started them (Linux's parent-death signal follows the thread). So an early exit of the CLI waits for no start
    it no longer needs, and when the runner's `ray.shutdown()` disconnects, the thread's end kills Ray's processes at
    once (SIGKILL; the sweep's state was written by then) instead of Ray's graceful 1 s per process. `error` is what
    the start raised."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.seconds = 0.0
        self.error: BaseException | None = None
        self.done = threading.Event()
        threading.Thread(target=self._run, name="hpo-ray-start", daemon=True).start()

    def _run(self) -> None:
        import ray

        try:
            init_local(**INIT_OPTIONS)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting driver, which reports it
            self.error = exc
        finally:
            self.seconds = time.monotonic() - self.began
            self.done.set()
        while ray.is_initialized():   # until the runner's ray.shutdown() disconnects
            time.sleep(_KEEP_ALIVE_POLL_S)


_pending: _BackgroundStart | None = None


def start_in_background(address: str | None) -> bool:
    """Begin starting a fresh local Ray in a thread when `address` (and RAY_ADDRESS) name no cluster and no Ray is
    running in this process; `finish_background_start` (called by the runner's `connect`) waits for it."""
    global _pending
    ray = sys.modules.get("ray")   # not imported here: the thread imports it, while this one goes on

    if _pending is not None or join_target(address) is not None or (ray is not None and ray.is_initialized()):
        return False
    quiet_env()
    _pending = _BackgroundStart()
    return True


def background_start_pending() -> bool:
    """Whether a background start was begun and not yet waited for (the Ray it starts belongs to the runner)."""
    return _pending is not None


def finish_background_start() -> float | None:
    """Wait for a background start, if one was begun, and raise what it raised; returns the seconds Ray's start took
    in all (None without a background start)."""
    global _pending
    start, _pending = _pending, None
    if start is None:
        return None
    start.done.wait()
    if start.error is not None:
        raise start.error
    return start.seconds
