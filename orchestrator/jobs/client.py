"""`JobsClient`: Ray's `JobSubmissionClient` behind one-line errors, token auth and a fixed address."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from orchestrator.compat import RUNTIME_ENV_PACKAGING_LOGGER
from orchestrator.errors import UserInputError
from orchestrator.redaction import without_userinfo
from orchestrator.jobs.auth import (
    Redactor, TokenSource, auth_headers, find_token, missing_token_hint, transport_warnings,
)
from orchestrator.jobs.errors import AuthenticationFailed, ClusterUnreachable, JobError, JobNotFound

# Ray's SDK lets these replace the address it is given; ours is resolved once, explicitly.
ADDRESS_ENV_VARS = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")
log = logging.getLogger("orchestrator.jobs")
SDK_LOGGERS = ("ray.dashboard.modules.dashboard_sdk", "ray.dashboard.modules.job.sdk", RUNTIME_ENV_PACKAGING_LOGGER)


def resolve_address(address: str | None) -> str:
    """The Jobs API URL: `--address`, else RAY_API_SERVER_ADDRESS, else RAY_ADDRESS; `HOST:PORT`
    means `http://HOST:PORT`."""
    value = (address or "").strip()
    if not value:
        value = next((os.environ[v].strip() for v in ADDRESS_ENV_VARS if os.environ.get(v, "").strip()), "")
    if not value:
        raise UserInputError("no cluster address: pass --address http://HEAD:8265 or set RAY_ADDRESS")
    if "://" not in value:
        value = f"http://{value}"
    scheme = value.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise UserInputError(f"--address {without_userinfo(value)}: the job commands talk to the dashboard's Jobs API, "
                             f"e.g. http://HEAD:8265 (ray:// and GCS addresses are for `hpo run --address`)")
    return value.rstrip("/")


@dataclass(frozen=True)
class JobInfo:
    """What the cluster knows about one job."""

    job_id: str
    status: str
    entrypoint: str = ""
    message: str = ""
    start_time: float | None = None      # seconds since the epoch
    end_time: float | None = None
    driver_exit_code: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def _without_env(names: tuple[str, ...]) -> Iterator[None]:
    """Hide environment variables for the duration of the block."""
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class JobsClient:
    """A connection to one cluster's Jobs API; every failure is a one-line `HpoError`."""

    def __init__(self, address: str | None, *, token: TokenSource | None = None) -> None:
        url = resolve_address(address)
        self.address = without_userinfo(url)   # what is printed; the SDK gets `url`, user-info included
        self._token = token if token is not None else find_token()
        self._redact = Redactor(self._token)
        for warning in transport_warnings(self._token, url):
            log.warning("hpo: warning: %s", warning)
        from ray.job_submission import JobSubmissionClient

        for name in SDK_LOGGERS:   # "Uploading package ..." chatter (levels set at their import)
            logging.getLogger(name).setLevel(logging.WARNING)

        with self._errors(), _without_env(ADDRESS_ENV_VARS):
            self._sdk = JobSubmissionClient(url, headers=auth_headers(self._token))

    def dashboard_url(self, job_id: str | None = None) -> str:
        """The dashboard (served on the Jobs API's port), or one job's page in it."""
        return f"{self.address}/#/jobs/{job_id}" if job_id else self.address

    def submit(self, *, entrypoint: str, runtime_env: dict[str, Any], submission_id: str,
               metadata: dict[str, str]) -> str:
        """Launch a job (uploading the runtime environment's local folders); its id."""
        with self._errors():
            return self._sdk.submit_job(entrypoint=entrypoint, runtime_env=runtime_env,
                                        submission_id=submission_id, metadata=metadata)

    def info(self, job_id: str) -> JobInfo:
        """Status, entrypoint, times and metadata of a job."""
        with self._errors(job_id):
            details = self._sdk.get_job_info(job_id)
        return JobInfo(
            job_id=details.submission_id or job_id, status=str(getattr(details.status, "value", details.status)),
            entrypoint=self._redact(details.entrypoint or ""), message=self._redact(details.message or ""),
            start_time=details.start_time / 1000 if details.start_time else None,
            end_time=details.end_time / 1000 if details.end_time else None,
            driver_exit_code=details.driver_exit_code, metadata=dict(details.metadata or {}),
        )

    def logs(self, job_id: str) -> str:
        """Everything the job's driver has printed so far."""
        with self._errors(job_id):
            return self._redact(self._sdk.get_job_logs(job_id))

    def tail(self, job_id: str, on_text: Callable[[str], None]) -> None:
        """Call `on_text` with each chunk the driver prints, from the start, until the job ends."""
        async def pump() -> None:
            async for chunk in self._sdk.tail_job_logs(job_id):
                on_text(self._redact(chunk))

        self.info(job_id)   # an unknown id fails here, with the usual one-line error
        with self._errors(job_id):
            asyncio.run(pump())

    def stop(self, job_id: str) -> bool:
        """Ask the job to stop; False when it had already ended."""
        with self._errors(job_id):
            return bool(self._sdk.stop_job(job_id))

    @contextlib.contextmanager
    def _errors(self, job_id: str | None = None) -> Iterator[None]:
        """Turn the SDK's exceptions into one-line errors that never carry the token."""
        from ray.exceptions import AuthenticationError

        try:
            yield
        except AuthenticationError:
            why = (f"the cluster refused the token from {self._token.origin}" if self._token
                   else f"a token is required and none was found; {missing_token_hint()}")
            raise AuthenticationFailed(f"authentication failed at {self.address}: {why}") from None
        except ConnectionError:
            raise ClusterUnreachable(f"cannot reach the Ray Jobs API at {self.address} "
                                     f"(is the cluster up, and is this its dashboard port, usually 8265?)") from None
        except Exception as exc:  # noqa: BLE001 - the SDK raises RuntimeError, ValueError, aiohttp and requests errors
            text = self._redact(_first_line(exc))
            if job_id is not None and ("does not exist" in text or "404" in text):
                raise JobNotFound(f"no job {job_id!r} on the cluster at {self.address}") from None
            if _is_connection_error(exc):
                raise ClusterUnreachable(f"cannot reach the Ray Jobs API at {self.address}: {text}") from None
            raise JobError(f"{self.address}: {text}") from None


def _is_connection_error(exc: BaseException) -> bool:
    """Whether a requests/aiohttp failure means the server could not be reached."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"ConnectionError", "ClientConnectorError", "ServerDisconnectedError",
                         "ConnectTimeout", "ReadTimeout", "Timeout"})


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
