"""Publish a folder (the best checkpoint) with a manifest written last, so readers never see missing or stale files.

Layout under the destination `D` (e.g. `<sweep>/best`):
    D/<prefix><version>/...      the files, in a folder no earlier publish has used (`checkpoint-`, `model-`)
    D/<manifest file>            the manifest (`best.json`, `final.json`): its own fields + version, checkpoint_dir,
                                 files {path: {sha256, size}}
    D/.pending-<folder>          written before the folder's first file, removed after the switch: an unfinished publish
The manifest is replaced in one atomic step only after every file is written and hashed; until then the previous
manifest and its folder stay intact. After the switch, version folders are deleted except this one, the one the
manifest named just before the switch (a reader that has just read it can still finish its download), the one the
manifest names now (another publish may have switched since), and those of unfinished publishes (a pending marker
younger than PENDING_TTL_S; an older one is a publish that died), so concurrent publishes never delete each other's.
"""
from __future__ import annotations

import json
import logging
import posixpath
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

import pyarrow.fs as pafs

from orchestrator.errors import StorageError
from orchestrator.redaction import redact
from orchestrator.storage.failures import one_line
from orchestrator.storage.location import StorageLocation
from orchestrator.storage.manifest import write_manifest
from orchestrator.storage.retry import with_retries
from orchestrator.storage.sweep_folder import Manifest, Published, best_folder
from orchestrator.storage.transfer import FileCallback, copy_tree

if TYPE_CHECKING:
    from ray.tune import Checkpoint

log = logging.getLogger("orchestrator.storage")
PENDING_PREFIX = ".pending-"
PENDING_TTL_S = 24 * 3600.0


def new_version() -> str:
    """A sortable, unique folder suffix: UTC time plus random hex."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


def publish_best(sweep: StorageLocation, checkpoint: Checkpoint | None, manifest: Manifest | Mapping[str, Any], *,
                 on_file: FileCallback | None = None) -> str:
    """Copy the best checkpoint's files under `<sweep>/best/`, then write `best.json`; returns the best folder's URI.
    A mapping is read as a manifest's JSON."""
    best = manifest if isinstance(manifest, Manifest) else Manifest.from_json(manifest)
    source = (checkpoint.filesystem, checkpoint.path) if checkpoint is not None else None
    return publish_tree(best_folder(sweep), source, best, on_file=on_file)


def publish_tree(dest: StorageLocation, source: tuple[pafs.FileSystem, str] | None, manifest: Published, *,
                 on_file: FileCallback | None = None) -> str:
    """Copy `source` (filesystem, folder) into a fresh `<dest>/<PREFIX><version>/`, then switch `<dest>/<FILE>`
    (both named by the manifest's class); the manifest's own fields are written with secrets redacted. Returns `dest`'s URI."""
    version = new_version()
    folder = f"{manifest.PREFIX}{version}" if source is not None else None
    files = {}
    marker = f"{PENDING_PREFIX}{folder}"
    try:
        if source is not None and folder is not None:
            write_manifest(dest, marker, {"started": time.time()})
            files = copy_tree(source[0], source[1], dest.filesystem, dest.join(folder).path, on_file=on_file)
        entry = type(manifest).from_json(redact(manifest.to_json())).published(
            version=version, checkpoint_dir=folder,
            files={rel: digest.as_dict() for rel, digest in sorted(files.items())},
            published_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        previous = _current_folder(dest, type(manifest))
        write_manifest(dest, manifest.FILE, entry.to_json())  # the switch: from here on readers get the new files
    finally:
        if folder is not None:
            _delete_quietly(dest, dest.join(marker).path)
    _collect_garbage(dest, type(manifest), keep={folder, previous})
    return dest.uri


def _current_folder(dest: StorageLocation, kind: type[Published]) -> str | None:
    """The folder the manifest now in place points at (None if there is none yet, or it is unreadable JSON)."""
    where = dest.join(kind.FILE)
    info = with_retries(lambda: dest.filesystem.get_file_info(where.path), f"reading {where.display}")
    if info.type == pafs.FileType.NotFound:
        return None
    try:
        return kind.read(dest).checkpoint_dir
    except StorageError as exc:
        if isinstance(exc.__cause__, ValueError):
            return None
        raise


def _collect_garbage(dest: StorageLocation, kind: type[Published], keep: set[str | None]) -> None:
    """Delete version folders other than `keep`, the one named now and those of unfinished publishes (best effort: a
    failure only leaves extra files behind). Markers are listed before the manifest is read: a publish that removes
    its marker has switched the manifest first."""
    try:
        infos = dest.filesystem.get_file_info(pafs.FileSelector(dest.path, recursive=False))
        names = {posixpath.basename(info.path): info for info in infos}
        unfinished = {name[len(PENDING_PREFIX):] for name in names
                      if name.startswith(PENDING_PREFIX) and _is_live(dest, name)}
        keep = keep | unfinished | {_current_folder(dest, kind)}
        for name, info in names.items():
            if info.type == pafs.FileType.Directory and name.startswith(kind.PREFIX) and name not in keep:
                dest.filesystem.delete_dir(info.path)
    except (OSError, StorageError) as exc:
        log.warning("could not remove old published folders under %s: %s", dest.display, one_line(exc))


def _is_live(dest: StorageLocation, marker: str) -> bool:
    """Whether a pending marker is younger than PENDING_TTL_S (an unreadable one counts as live: keep, not delete)."""
    try:
        with dest.filesystem.open_input_stream(dest.join(marker).path) as stream:
            started = json.loads(stream.read()).get("started")
    except (OSError, ValueError, AttributeError):
        return True
    return not isinstance(started, (int, float)) or time.time() - started < PENDING_TTL_S


def _delete_quietly(dest: StorageLocation, path: str) -> None:
    try:
        dest.filesystem.delete_file(path)
    except OSError as exc:
        log.warning("could not remove %s under %s: %s", posixpath.basename(path), dest.display, one_line(exc))
