"""`submit_sweep`: launch `hpo run` on a cluster's head node as a Ray job."""
from __future__ import annotations

import json
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from orchestrator.jobs.client import JobsClient
from orchestrator.runner.code_shipping import staged_sweep
from orchestrator.spec import Spec, load_spec
from orchestrator.spec.overrides import SECRET_OVERRIDES_ENV, split_secret_overrides

ENTRYPOINT_COMMAND = ("hpo", "run")   # must be on the cluster's PATH (the project installed there)


@dataclass(frozen=True)
class SubmittedJob:
    """A launched sweep: its job id, where to watch it, and what the driver runs."""

    job_id: str
    address: str                   # the Jobs API it went to
    dashboard_url: str
    job_url: str
    sweep_name: str
    entrypoint: str
    storage_note: str | None = None
    storage: str = ""              # the storage root the driver writes the sweep folder under


def build_entrypoint(spec_file: str, overrides: Sequence[str] = (), storage: str | None = None,
                     run_flags: Sequence[str] = ()) -> str:
    """The driver's shell command. `--address auto` joins the cluster the job runs in;
    `run_flags` are passed on to `hpo run` (`--resume`, `--fresh`)."""
    args = [*ENTRYPOINT_COMMAND, spec_file, "--quiet", "--address", "auto", *run_flags]
    if storage:
        args += ["--storage", storage]
    for override in overrides:
        args += ["--set", override]
    return shlex.join(args)


def job_request(spec_file: str, runtime_env: dict[str, Any], overrides: Sequence[str] = (),
                storage: str | None = None, run_flags: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """(entrypoint, runtime_env) of the job: secret `--set` items go to the driver through the runtime_env's
    env_vars, never onto the command line every dashboard user (and `hpo status`) reads."""
    public, secret = split_secret_overrides(overrides)
    if secret:
        env_vars = {**runtime_env.get("env_vars", {}), SECRET_OVERRIDES_ENV: json.dumps(secret)}
        runtime_env = {**runtime_env, "env_vars": env_vars}
    return build_entrypoint(spec_file, public, storage, run_flags), runtime_env


def submission_id_for(name: str) -> str:
    """A job id that names the sweep and reads well in the dashboard."""
    return f"hpo-{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def storage_on_cluster(spec: Spec, cwd: Path) -> tuple[str | None, str | None]:
    """(storage to pass to the driver, a note for the user). A relative local storage is made
    absolute against this machine's folder (right when the cluster runs on this machine);
    object storage needs nothing."""
    storage = spec.storage
    if "://" in storage and not storage.startswith("file://"):
        return None, None
    path = Path(storage.removeprefix("file://")).expanduser()
    absolute = path if path.is_absolute() else (cwd / path).resolve()
    note = (f"storage {absolute} is a folder on the cluster's nodes; for a remote cluster "
            f"use s3://... (--set storage=s3://bucket/prefix)")
    return (None if path.is_absolute() else str(absolute)), note


def submit_sweep(spec: Spec | str | Path, *, address: str | None = None, overrides: Sequence[str] = (),
                 run_flags: Sequence[str] = (), client: JobsClient | None = None) -> SubmittedJob:
    """Stage a spec with the user's code and launch it as a Ray job. A spec given as a path is
    validated first, so a bad one fails before the cluster is contacted; a `Spec` must come from
    `load_spec(path, overrides)` with the same `overrides` (the driver re-applies them)."""
    if not isinstance(spec, Spec):
        spec = load_spec(spec, overrides)
    if not spec.source_file:
        raise ValueError("submit_sweep needs a spec read from a file (load_spec)")
    spec_path = Path(spec.source_file)
    storage, note = storage_on_cluster(spec, Path.cwd())
    with staged_sweep(spec, spec_path) as staged:   # missing code paths fail before connecting
        client = client or JobsClient(address)
        entrypoint, runtime_env = job_request(staged.spec_file, staged.runtime_env, overrides, storage, run_flags)
        job_id = client.submit(entrypoint=entrypoint, runtime_env=runtime_env,
                               submission_id=submission_id_for(spec.name),
                               metadata={"hpo_sweep": spec.name, "hpo_spec": staged.spec_file})
    return SubmittedJob(job_id=job_id, address=client.address, dashboard_url=client.dashboard_url(),
                        job_url=client.dashboard_url(job_id), sweep_name=spec.name, entrypoint=entrypoint,
                        storage_note=note, storage=storage or spec.storage)
