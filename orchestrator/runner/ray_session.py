"""Starting or joining Ray for a sweep, with Ray's own console noise sent to a log file."""
from __future__ import annotations

import contextlib
import logging
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, TextIO

from orchestrator.compat import dashboard_address
from orchestrator.errors import HpoError, UserInputError
from orchestrator.runner.code_shipping import staged_sweep
from orchestrator.runner.private_log import PrivateFileHandler, private_log_dir
from orchestrator.runner.job_driver import in_ray_job
from orchestrator.runner.phase_timer import PhaseTimer
from orchestrator.runner.ray_start import (
    INIT_OPTIONS, background_start_pending, finish_background_start, init_local, join_target, quiet_env,
)
from orchestrator.spec import Spec
from orchestrator.storage import StorageLocation
from orchestrator.storage.sweep_folder import LOG_FILE

_NOISY_LOGGERS = ("ray", "ray.tune", "ray.train", "ray.air", "ray.data", "filelock", "botocore")


@contextlib.contextmanager
def ray_session(spec: Spec, address: str | None, log_file: Path,
                timer: PhaseTimer | None = None) -> Iterator[str | None]:
    """Ray started (or joined at `address`) for the sweep, its log lines going to `log_file` only while inside;
    yields the dashboard URL, if any. A Ray this session started (or joined) is shut down on leaving; one that was
    already initialised (tests, notebooks) is left as it is. `timer` gets the phases `start Ray` and `shutdown`."""
    import ray

    timer = timer or PhaseTimer()
    handler = quiet_ray(log_file)
    ours = background_start_pending() or not ray.is_initialized()
    try:
        with timer.phase("start Ray"), cluster_code(spec, address) as runtime_env:
            dashboard = connect(address, runtime_env=runtime_env, timer=timer)
        reattach_logs(handler)
        yield dashboard
    finally:
        if ours and ray.is_initialized():
            with timer.phase("shutdown"):
                ray.shutdown()
        release_logs(handler)


def log_path(sweep: StorageLocation) -> Path:
    """Full logs go into the sweep folder when it is local, else into this user's private log folder."""
    if not sweep.is_s3:
        return Path(sweep.path) / LOG_FILE
    return private_log_dir() / f"{sweep.path.replace('/', '_')}.log"


def without_missing_gpus(spec: Spec, *, local: bool, stream: TextIO) -> Spec:
    """On a local Ray with no GPU, trials asking for one would wait forever: say so in one
    line and run them on CPU. Clusters keep the request (an autoscaler may add GPU nodes)."""
    import ray

    if not local or spec.resources.gpu <= 0 or ray.cluster_resources().get("GPU", 0) > 0:
        return spec
    stream.write(f"hpo: no GPU on this machine: running the trials on CPU "
                 f"(resources.gpu {spec.resources.gpu:g} ignored)\n")
    return replace(spec, resources=replace(spec.resources, gpu=0.0))


def quiet_ray(log_file: Path) -> logging.Handler:
    """Route Ray's Python loggers to `log_file` only; returns the handler (remove it when done)."""
    quiet_env()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = PrivateFileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, logging.StreamHandler)
                    and not isinstance(h, logging.FileHandler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False
    return handler


def reattach_logs(handler: logging.Handler) -> None:
    """Send Ray's loggers to `handler` again (after ray.init reset them), at INFO."""
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@contextlib.contextmanager
def own_loggers() -> Iterator[None]:
    """While inside, Ray adds none of its default result loggers: the runner passes JSON and
    CSV loggers itself (Ray's would write the same files twice, plus TensorBoard's)."""
    key = "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"
    before = os.environ.get(key)
    os.environ[key] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def release_logs(handler: logging.Handler) -> None:
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).removeHandler(handler)
    handler.close()


def connect(address: str | None, *, runtime_env: dict | None = None, timer: PhaseTimer | None = None) -> str | None:
    """Join the Ray that `join_target` names (auto, ray://host:10001, host:6379) or start a fresh embedded local one
    (or wait for the one `ray_start.start_in_background` began: `timer` then gets its whole start as `Ray start
    (overlapped)`). Returns the dashboard URL when there is one. An already-initialised Ray is used as it is."""
    import ray

    target = join_target(address)
    try:
        overlapped_s = finish_background_start()
        if overlapped_s is not None and timer is not None:
            timer.record("Ray start (overlapped)", overlapped_s)
        if not ray.is_initialized():
            options = {**INIT_OPTIONS, **({"runtime_env": runtime_env} if runtime_env else {})}
            if target:
                check_reachable(target)
                ray.init(address=target, **options)
            else:
                init_local(**options)
    except HpoError:
        raise
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UserInputError(f"cannot connect to Ray at {target or 'local'}: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception when its raylet does not register in 30 s
        raise HpoError(f"Ray did not start ({_first_line(exc)}); nothing ran, rerun when the machine is less loaded; "
                       "Ray's logs: /tmp/ray/session_latest/logs") from None
    return dashboard_url()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_reachable(target: str, timeout_s: float = 3.0) -> None:
    """Fail in seconds, naming where the address came from, when nothing listens at the Ray `target` names: Ray itself
    retries a dead GCS for minutes (a stale cluster file left by a killed `ray start`)."""
    from orchestrator.compat import ray_cluster_file

    origin = target
    if target == "auto":
        cluster_file = ray_cluster_file()
        if not cluster_file.is_file():
            return   # Ray looks for a running GCS process itself, and says so at once when it finds none
        target = cluster_file.read_text(encoding="utf-8").strip()
        origin = f"auto ({target}, named by {cluster_file})"
    host, _, port = target.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        return   # not host:port: Ray parses (and rejects) it
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        hint = " - a stale file left by a cluster stopped without `ray stop`; without --address hpo starts its own Ray" \
            if origin.startswith("auto") else ""
        raise UserInputError(f"cannot connect to Ray at {origin}: nothing answers ({exc.strerror or exc}){hint}") \
            from None


@contextlib.contextmanager
def cluster_code(spec: Spec, address: str | None) -> Iterator[dict[str, Any] | None]:
    """The runtime_env that ships the spec's code (`runtime_env:` working_dir, py_modules,
    pip, env_vars) when joining a cluster directly (`hpo run --address`). None for a local
    Ray, and inside a Ray job, whose own runtime_env already holds the code."""
    joining = join_target(address)
    settings = spec.runtime_env
    wanted = settings.working_dir or settings.py_modules or settings.pip or settings.env_vars
    if not joining or not wanted or not spec.source_file or in_ray_job():
        yield None
        return
    with staged_sweep(spec, Path(spec.source_file)) as staged:  # kept until Ray has uploaded it
        yield staged.runtime_env


def dashboard_url() -> str | None:
    """The dashboard address of the connected Ray, as an http URL, or None."""
    import ray

    try:
        url = ray.get_runtime_context().gcs_address and dashboard_address()
    except Exception:  # noqa: BLE001 - a dashboard is optional; no URL is the answer
        return None
    if not url:
        return None
    return url if url.startswith("http") else f"http://{url}"
