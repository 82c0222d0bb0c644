"""Publish a folder (the best checkpoint) with a manifest written last, so readers never see missing or stale files.

Layout under the destination `D` (e.g. `<sweep>/best`):
    D/<prefix><version>/...      the files, in a folder no earlier publish has used (`checkpoint-`, `model-`)
    D/<manifest file>            the manifest (`best.json`, `final.json`): its own fields + version, checkpoint_dir,
                                 files {path: {sha256, size}}
The manifest is replaced in one atomic step only after every file is written and hashed; until then the previous
manifest and its folder stay intact. After the switch, folders older than the previous one are deleted (the previous
one is kept so a reader that has just read the old manifest can still finish its download).
"""
from __future__ import annotations

import logging
import posixpath
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

import pyarrow.fs as pafs

from orchestrator.errors import StorageError
from orchestrator.redaction import redact
from orchestrator.storage.failures import one_line
from orchestrator.storage.location import StorageLocation
from orchestrator.storage.manifest import write_manifest
from orchestrator.storage.sweep_folder import Manifest, Published, best_folder
from orchestrator.storage.transfer import FileCallback, copy_tree

if TYPE_CHECKING:
    from ray.tune import Checkpoint

log = logging.getLogger("orchestrator.storage")


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
    previous = _current_folder(dest, type(manifest))
    version = new_version()
    folder = f"{manifest.PREFIX}{version}" if source is not None else None
    files = {}
    if source is not None and folder is not None:
        files = copy_tree(source[0], source[1], dest.filesystem, dest.join(folder).path, on_file=on_file)
    entry = type(manifest).from_json(redact(manifest.to_json())).published(
        version=version, checkpoint_dir=folder, files={rel: digest.as_dict() for rel, digest in sorted(files.items())},
        published_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    write_manifest(dest, manifest.FILE, entry.to_json())  # the switch: from here on readers get the new files
    _collect_garbage(dest, manifest.PREFIX, keep={folder, previous})
    return dest.uri


def _current_folder(dest: StorageLocation, kind: type[Published]) -> str | None:
    """The folder the manifest now in place points at (None if there is none yet, or it is unreadable JSON)."""
    if dest.filesystem.get_file_info(dest.join(kind.FILE).path).type == pafs.FileType.NotFound:
        return None
    try:
        return kind.read(dest).checkpoint_dir
    except StorageError as exc:
        if isinstance(exc.__cause__, ValueError):
            return None
        raise


def _collect_garbage(dest: StorageLocation, prefix: str, keep: set[str | None]) -> None:
    """Delete version folders other than `keep` (best effort: a failure only leaves extra files behind)."""
    try:
        infos = dest.filesystem.get_file_info(pafs.FileSelector(dest.path, recursive=False))
        for info in infos:
            name = posixpath.basename(info.path)
            if info.type == pafs.FileType.Directory and name.startswith(prefix) and name not in keep:
                dest.filesystem.delete_dir(info.path)
    except OSError as exc:
        log.warning("could not remove old published folders under %s: %s", dest.display, one_line(exc))
