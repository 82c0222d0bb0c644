"""Where a sweep's files live: one (filesystem, path) pair for local folders and S3 alike, via pyarrow."""
from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field, replace
from typing import Any, Mapping
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from orchestrator.errors import StorageError
from orchestrator.extensions.storage import STORAGE_OPTIONS as DECLARED_OPTIONS
from orchestrator.redaction import redact_text
from orchestrator.storage import s3

# Keys a spec may give under `storage_options`. Credentials and profile names are deliberately absent: they come from
# the AWS chain (env, AWS_PROFILE, instance role), so nothing secret is ever pickled into Ray's tuner.pkl.
STORAGE_OPTIONS: set[str] = set(DECLARED_OPTIONS)


@dataclass(frozen=True)
class StorageLocation:
    """A folder on some filesystem: `uri` for people and re-resolution, `filesystem` + `path` for pyarrow and Ray."""

    uri: str
    filesystem: pafs.FileSystem = field(repr=False, compare=False)
    path: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def display(self) -> str:
        """The URI for messages, with a non-default S3 endpoint named (never credentials)."""
        endpoint = s3.endpoint_url(self.options) if self.is_s3 else None
        return f"{self.uri} (endpoint {redact_text(endpoint)})" if endpoint else self.uri

    def join(self, *parts: str) -> StorageLocation:
        """The location of a sub-path, on the same filesystem."""
        clean = [p.strip("/") for p in parts if p and p.strip("/")]
        if not clean:
            return self
        return replace(self, uri="/".join([self.uri.rstrip("/"), *clean]), path=posixpath.join(self.path, *clean))

    def __str__(self) -> str:
        return self.display


def resolve_storage(uri: str, storage_options: Mapping[str, Any] | None = None, *, create: bool = True
                    ) -> StorageLocation:
    """Turn `s3://bucket/prefix`, `file:///abs` or a plain path into a location; local folders are created if `create`."""
    options = dict(storage_options or {})
    unknown = sorted(set(options) - STORAGE_OPTIONS)
    if "profile" in unknown:
        raise StorageError("storage_options.profile is not supported: set AWS_PROFILE in the environment instead")
    if unknown:
        raise StorageError(f"unknown storage_options {unknown}; allowed: {sorted(STORAGE_OPTIONS)}")
    text = str(uri).strip()
    if not text:
        raise StorageError("empty storage location")
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in ("s3", "s3a"):
        return _resolve_s3(text, options)
    if scheme in ("", "file"):
        return _resolve_local(text[len("file://"):] if scheme == "file" else text, create)
    raise StorageError(f"unsupported storage scheme {scheme!r} in {text!r}: use s3://, file:// or a path")


def _resolve_s3(text: str, options: dict[str, Any]) -> StorageLocation:
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise StorageError("credentials do not belong in a storage URI; use the AWS chain or AWS_PROFILE")
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if not bucket:
        raise StorageError(f"no bucket in {text!r}: expected s3://bucket/prefix")
    path = f"{bucket}/{prefix}" if prefix else bucket
    return StorageLocation(uri=f"s3://{path}", filesystem=s3.filesystem(bucket, options), path=path, options=options)


def _resolve_local(text: str, create: bool) -> StorageLocation:
    path = os.path.abspath(os.path.expanduser(text))
    try:
        if create:
            os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create storage folder {path}: {exc.strerror or exc}") from exc
    return StorageLocation(uri=path, filesystem=pafs.LocalFileSystem(), path=path)
