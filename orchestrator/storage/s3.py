"""S3 access from the standard AWS chain: one pyarrow S3FileSystem per location, never holding secrets in text."""
from __future__ import annotations

import os
import threading
from typing import Any, Mapping
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from orchestrator.errors import StorageError

CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 3
DEFAULT_REGION = "us-east-1"
CHECKSUM_ENV = "AWS_REQUEST_CHECKSUM_CALCULATION"
CHECKSUM_MODES = ("when_supported", "when_required")
_ENV_LOCK = threading.Lock()


class ChecksumModeS3FileSystem(pafs.S3FileSystem):
    """pyarrow's S3 filesystem with the SDK's request-checksum mode fixed per instance, kept when Ray pickles it.

    `when_supported` (the SDK default) sends parts as `aws-chunked` bodies with a trailing CRC; many S3-compatible
    servers handle that slowly or not at all. `when_required` sends plain, SigV4-hashed bodies. The AWS C++ SDK
    reads the mode from the environment while a client is built, so it is set around construction only.
    """

    def __init__(self, *, request_checksum: str, **kwargs: Any) -> None:
        with _ENV_LOCK:
            before = os.environ.get(CHECKSUM_ENV)
            os.environ[CHECKSUM_ENV] = request_checksum
            try:
                super().__init__(**kwargs)
            finally:
                if before is None:
                    os.environ.pop(CHECKSUM_ENV, None)
                else:
                    os.environ[CHECKSUM_ENV] = before
        self.request_checksum = request_checksum

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any], str]]:
        _, (kwargs,) = super().__reduce__()
        return _rebuild, (kwargs, self.request_checksum)


def _rebuild(kwargs: dict[str, Any], request_checksum: str) -> ChecksumModeS3FileSystem:
    return ChecksumModeS3FileSystem(request_checksum=request_checksum, **kwargs)


def checksum_mode(options: Mapping[str, Any]) -> str:
    """`storage_options.request_checksum`, else AWS_REQUEST_CHECKSUM_CALCULATION, else `when_required` for a
    custom endpoint (S3-compatible servers) and the SDK's `when_supported` for AWS itself."""
    mode = options.get("request_checksum") or os.environ.get(CHECKSUM_ENV)
    if mode is None:
        return "when_required" if endpoint_url(options) else "when_supported"
    mode = str(mode).lower()
    if mode not in CHECKSUM_MODES:
        raise StorageError(f"request_checksum must be one of {', '.join(CHECKSUM_MODES)}, not {mode!r}")
    return mode


def endpoint_url(options: Mapping[str, Any]) -> str | None:
    """The S3 endpoint: `storage_options.endpoint_url`, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`."""
    url = options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return str(url).rstrip("/") if url else None


def region(options: Mapping[str, Any]) -> str | None:
    """The region: `storage_options.region`, else the AWS chain (AWS_REGION, AWS_DEFAULT_REGION, profile config)."""
    if options.get("region"):
        return str(options["region"])
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name):
            return os.environ[name]
    import boto3

    return boto3.Session().region_name


def has_credentials() -> bool:
    """Whether the AWS chain (env, AWS_PROFILE and shared files, instance role) yields credentials."""
    import boto3

    return boto3.Session().get_credentials() is not None


def filesystem(bucket: str, options: Mapping[str, Any]) -> ChecksumModeS3FileSystem:
    """Build the pyarrow S3 filesystem: endpoint/scheme, region, short connect timeout, standard retries with backoff.

    Credentials are never passed in: Ray pickles this object into `tuner.pkl` in the sweep folder, so the SDK must
    find them itself (env, AWS_PROFILE, instance role), or assume `role_arn` from them.
    """
    kwargs: dict[str, Any] = {
        "connect_timeout": float(options.get("connect_timeout", CONNECT_TIMEOUT_S)),
        "request_timeout": float(options.get("request_timeout", REQUEST_TIMEOUT_S)),
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=int(options.get("max_attempts", MAX_ATTEMPTS))),
    }
    if options.get("role_arn"):
        kwargs["role_arn"] = str(options["role_arn"])
    url = endpoint_url(options)
    if url:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        kwargs["scheme"] = parts.scheme or "https"
        kwargs["endpoint_override"] = parts.netloc + parts.path
    kwargs["region"] = region(options) or (DEFAULT_REGION if url else _bucket_region(bucket))
    return ChecksumModeS3FileSystem(request_checksum=checksum_mode(options), **kwargs)


def _bucket_region(bucket: str) -> str:
    """Ask AWS where the bucket lives; default to us-east-1 and let the preflight report any problem."""
    try:
        return pafs.resolve_s3_region(bucket)
    except (OSError, ValueError):
        return DEFAULT_REGION


def client(options: Mapping[str, Any]) -> Any:
    """A boto3 S3 client for the same endpoint and region (for what pyarrow cannot do: conditional PUTs)."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url(options), region_name=region(options) or DEFAULT_REGION)
