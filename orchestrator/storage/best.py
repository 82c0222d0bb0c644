"""Read what a sweep published: the best manifest, its checkpoint downloaded and verified, or both as a BestTrial."""
from __future__ import annotations

import hashlib
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pyarrow.fs as pafs

from orchestrator.errors import StorageError
from orchestrator.storage.integrity import IntegrityError, safe_target, verify
from orchestrator.storage.location import StorageLocation, resolve_storage
from orchestrator.storage.manifest import read_manifest
from orchestrator.storage.publish import BEST_FOLDER, BEST_MANIFEST
from orchestrator.storage.transfer import MAX_PARALLEL_FILES, copy_file, digest

_LOCAL = pafs.LocalFileSystem()


@dataclass(frozen=True)
class BestTrial:
    """The best trial of a sweep, ready for downstream use."""

    config: dict[str, Any]
    metric: str | None
    metric_value: float | None
    mode: str | None
    trial_id: str | None
    checkpoint_path: Path | None
    manifest: dict[str, Any]


def best_location(sweep_uri: str, storage_options: Mapping[str, Any] | None = None) -> StorageLocation:
    """`<sweep>/best` (nothing is created)."""
    return resolve_storage(sweep_uri, storage_options, create=False).join(BEST_FOLDER)


def read_best(sweep_uri: str, storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The sweep's `best.json` manifest."""
    return read_manifest(best_location(sweep_uri, storage_options), BEST_MANIFEST)


def fetch_best(sweep_uri: str, to_dir: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
               ) -> Path:
    """Download the best checkpoint's files into `to_dir`, each verified against its sha256; returns `to_dir`."""
    folder = best_location(sweep_uri, storage_options)
    return fetch_published(folder, read_manifest(folder, BEST_MANIFEST), Path(to_dir), BEST_MANIFEST)


def load_best(sweep_uri: str, *, to_dir: str | os.PathLike[str] | None = None,
              storage_options: Mapping[str, Any] | None = None) -> BestTrial:
    """The best config and metric, with its checkpoint fetched (to `to_dir`, default a per-version cache folder)."""
    folder = best_location(sweep_uri, storage_options)
    manifest = read_manifest(folder, BEST_MANIFEST)
    checkpoint_path = None
    if manifest.get("checkpoint_dir"):
        target = Path(to_dir) if to_dir is not None else _cache_dir(folder, manifest)
        checkpoint_path = fetch_published(folder, manifest, target, BEST_MANIFEST)
    return BestTrial(
        config=manifest.get("config") or {},
        metric=manifest.get("metric"),
        metric_value=manifest.get("metric_value"),
        mode=manifest.get("mode"),
        trial_id=manifest.get("trial_id"),
        checkpoint_path=checkpoint_path,
        manifest=manifest,
    )


def fetch_published(folder: StorageLocation, manifest: dict[str, Any], to_dir: Path, manifest_name: str) -> Path:
    """Download the files a manifest lists into `to_dir`; if a re-publish removed them meanwhile, follow the new one."""
    try:
        return _download(folder, manifest, to_dir)
    except StorageError:
        fresh = read_manifest(folder, manifest_name)
        if fresh.get("version") == manifest.get("version"):
            raise
        return _download(folder, fresh, to_dir)


def _download(folder: StorageLocation, manifest: dict[str, Any], to_dir: Path) -> Path:
    version_dir = manifest.get("checkpoint_dir")
    files: dict[str, dict[str, Any]] = manifest.get("files") or {}
    if not version_dir:
        raise StorageError(f"no checkpoint was published at {folder.display}")
    if "/" in str(version_dir) or str(version_dir) in ("..", "."):
        raise IntegrityError(f"refusing checkpoint_dir {version_dir!r} in the manifest at {folder.display}")
    root = to_dir.expanduser().resolve()
    source = folder.join(str(version_dir))
    targets = {key: safe_target(root, key) for key in files}  # every name checked before any byte is written
    root.mkdir(parents=True, exist_ok=True)

    def one(key: str) -> None:
        target = targets[key]
        if target.is_file() and target.stat().st_size == files[key].get("size"):
            if digest(_LOCAL, str(target)).sha256 == files[key].get("sha256"):
                return  # already here and intact
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            got = copy_file(folder.filesystem, source.join(key).path, _LOCAL, str(staging),
                            what=f"downloading {key} from {source.display}")
            verify(key, files[key], got)
            os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_FILES, len(files))),
                            thread_name_prefix="hpo-fetch") as pool:
        list(pool.map(one, sorted(files)))
    return root


def _cache_dir(folder: StorageLocation, manifest: dict[str, Any]) -> Path:
    """`$HPO_CACHE_DIR` (default ~/.cache/hpo)/best/<hash of the location>/<version>."""
    base = Path(os.environ.get("HPO_CACHE_DIR") or Path.home() / ".cache" / "hpo")
    key = hashlib.sha256(folder.display.encode()).hexdigest()[:16]
    return base / "best" / key / str(manifest.get("version") or "unversioned")
