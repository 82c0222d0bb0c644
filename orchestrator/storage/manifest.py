"""Manifests (best.json and the like): JSON written in one atomic step, so a reader sees the old one or the new one."""
from __future__ import annotations

import json
import posixpath
import uuid
from typing import Any

import pyarrow.fs as pafs

from orchestrator.errors import StorageError
from orchestrator.storage.failures import one_line
from orchestrator.storage.location import StorageLocation
from orchestrator.storage.retry import with_retries


def _write_once(location: StorageLocation, name: str, payload: bytes) -> None:
    fs, target = location.filesystem, posixpath.join(location.path, name)
    if fs.type_name != "local":
        # An S3 PUT (single or multipart) becomes visible only once complete: readers never see half an object.
        with fs.open_output_stream(target, metadata={"Content-Type": "application/json"}) as out:
            out.write(payload)
        return
    fs.create_dir(location.path, recursive=True)
    staging = posixpath.join(location.path, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with fs.open_output_stream(staging) as out:
            out.write(payload)
        fs.move(staging, target)  # rename(2): atomic on one filesystem
    finally:
        if fs.get_file_info(staging).type != pafs.FileType.NotFound:
            fs.delete_file(staging)


def write_manifest(location: StorageLocation, name: str, manifest: dict[str, Any]) -> None:
    """Write `manifest` as `<location>/<name>` atomically (retried on transient errors)."""
    payload = json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
    with_retries(lambda: _write_once(location, name, payload), f"writing {location.join(name).display}")


def read_manifest(location: StorageLocation, name: str) -> dict[str, Any]:
    """Read `<location>/<name>`; a missing or unreadable manifest is a one-line StorageError."""
    where = location.join(name)

    def read() -> bytes:
        with location.filesystem.open_input_stream(where.path) as stream:
            return stream.read()

    try:
        raw = with_retries(read, f"reading {where.display}")
    except StorageError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise StorageError(f"no {name} at {location.display}: nothing has been published there") from None
        raise
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise StorageError(f"{where.display} is not valid JSON: {one_line(exc)}") from exc
    if not isinstance(manifest, dict):
        raise StorageError(f"{where.display} is not a JSON object")
    return manifest
