"""S3 access from the standard AWS chain: one pyarrow S3FileSystem per location, never holding secrets in text."""
from __future__ import annotations

import os
from typing import Any, Mapping
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from orchestrator.errors import StorageError

CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 3
DEFAULT_REGION = "us-east-1"


def endpoint_url(options: Mapping[str, Any]) -> str | None:
    """The S3 endpoint: `storage_options.endpoint_url`, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`."""
    url = options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return str(url).rstrip("/") if url else None


def region(options: Mapping[str, Any], session: Any | None = None) -> str | None:
    """The region: `storage_options.region`, else the AWS chain (env, profile config), else None."""
    if options.get("region"):
        return str(options["region"])
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name):
            return os.environ[name]
    return getattr(session, "region_name", None) if session is not None else None


def boto_session(options: Mapping[str, Any]) -> Any:
    """A boto3 session on the AWS chain (optionally a named profile); it reads credentials, never stores them in text."""
    import boto3
    import botocore.exceptions

    try:
        return boto3.Session(profile_name=options.get("profile"))
    except botocore.exceptions.ProfileNotFound as exc:
        raise StorageError(f"AWS profile not found: {options.get('profile')!r}") from exc


def has_credentials(options: Mapping[str, Any]) -> bool:
    """Whether the AWS chain (env, shared files, profile, instance role) yields credentials."""
    return boto_session(options).get_credentials() is not None


def filesystem(bucket: str, options: Mapping[str, Any]) -> pafs.S3FileSystem:
    """Build the pyarrow S3 filesystem: endpoint/scheme, region, short connect timeout, standard retries with backoff."""
    kwargs: dict[str, Any] = {
        "connect_timeout": float(options.get("connect_timeout", CONNECT_TIMEOUT_S)),
        "request_timeout": float(options.get("request_timeout", REQUEST_TIMEOUT_S)),
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=int(options.get("max_attempts", MAX_ATTEMPTS))),
    }
    session = None
    if options.get("profile"):
        # pyarrow knows no profile names: hand it that profile's credentials directly (kept out of reprs and logs).
        session = boto_session(options)
        creds = session.get_credentials()
        if creds is None:
            raise StorageError(f"AWS profile {options['profile']!r} has no credentials")
        frozen = creds.get_frozen_credentials()
        kwargs.update(access_key=frozen.access_key, secret_key=frozen.secret_key, session_token=frozen.token)
    url = endpoint_url(options)
    if url:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        kwargs["scheme"] = parts.scheme or "https"
        kwargs["endpoint_override"] = parts.netloc + parts.path
    kwargs["region"] = region(options, session) or (DEFAULT_REGION if url else _bucket_region(bucket))
    return pafs.S3FileSystem(**kwargs)


def _bucket_region(bucket: str) -> str:
    """Ask AWS where the bucket lives; default to us-east-1 and let the preflight report any problem."""
    try:
        return pafs.resolve_s3_region(bucket)
    except (OSError, ValueError):
        return DEFAULT_REGION
