"""Download a published version into a local folder all-or-nothing: every file lands and is verified in a staging
folder beside the target, which is then swapped in; on any failure the target is exactly as it was.

A fetched folder holds `.hpo-fetch.json` (where from, which version). A non-empty target without it, or with another
source's, is refused unless `force`; one already holding the same version is returned as it is.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.fs as pafs

from orchestrator.errors import StorageError, UserInputError
from orchestrator.storage.integrity import check_published, safe_target, verify
from orchestrator.storage.location import StorageLocation
from orchestrator.storage.sweep_folder import Published
from orchestrator.storage.transfer import MAX_PARALLEL_FILES, copy_file

FETCH_MARKER = ".hpo-fetch.json"
_LOCAL = pafs.LocalFileSystem()


def fetch_published(folder: StorageLocation, manifest: Published, to_dir: Path, *, force: bool = False) -> Path:
    """Fetch the version `manifest` names into `to_dir`; if a re-publish removed its files meanwhile, the new one."""
    try:
        return _fetch(folder, manifest, to_dir, force)
    except StorageError:
        fresh = type(manifest).read(folder)
        if fresh.version == manifest.version:
            raise
        return _fetch(folder, fresh, to_dir, force)


def _fetch(folder: StorageLocation, manifest: Published, to_dir: Path, force: bool) -> Path:
    check_published(manifest, folder.join(manifest.FILE).display)
    if not manifest.checkpoint_dir:
        raise StorageError(f"no checkpoint was published at {folder.display}")
    root = to_dir.expanduser().resolve()   # a target that is the user's symlink: its folder is replaced
    mark = {"source": folder.uri, "version": manifest.version}
    if _check_target(root, mark, force):
        return root
    source = folder.join(manifest.checkpoint_dir)
    staging = root.with_name(f".{root.name}.fetch-{uuid.uuid4().hex[:8]}")
    targets = {key: safe_target(staging, key) for key in manifest.files}  # every name checked before any byte
    try:
        try:
            staging.mkdir(parents=True)
        except OSError as exc:
            raise UserInputError(f"cannot write beside {root}: {exc.strerror or exc}") from None
        files = manifest.files

        def one(key: str) -> None:
            got = copy_file(folder.filesystem, source.join(key).path, _LOCAL, str(targets[key]),
                            what=f"downloading {key} from {source.display}")
            verify(key, files[key], got)

        with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_FILES, len(files))),
                                thread_name_prefix="hpo-fetch") as pool:
            list(pool.map(one, sorted(files)))
        (staging / FETCH_MARKER).write_text(json.dumps(mark))
        _swap_in(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def _check_target(root: Path, mark: dict[str, object], force: bool) -> bool:
    """Whether `root` already holds this very version; refuse a target that is a file, or a non-empty folder that
    is not an earlier fetch of the same source (unless `force`)."""
    if root.exists() and not root.is_dir():
        raise UserInputError(f"{root} is not a folder: give --to a folder (new or empty)")
    if not root.is_dir() or not any(root.iterdir()):
        return False
    try:
        found = json.loads((root / FETCH_MARKER).read_text())
    except (OSError, ValueError):
        found = None
    if isinstance(found, dict) and found == mark:
        return True
    if force or (isinstance(found, dict) and found.get("source") == mark["source"]):
        return False
    raise UserInputError(f"{root} is not empty and holds no earlier fetch of {mark['source']}: "
                         f"choose an empty folder, or add --force to replace its contents")


def _swap_in(staging: Path, root: Path) -> None:
    """Put `staging` where `root` is, by renames on one filesystem; the old contents are deleted afterwards."""
    if not root.exists():
        os.rename(staging, root)
        return
    old = root.with_name(f".{root.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(root, old)
    try:
        os.rename(staging, root)
    except OSError:
        os.rename(old, root)
        raise
    shutil.rmtree(old, ignore_errors=True)
