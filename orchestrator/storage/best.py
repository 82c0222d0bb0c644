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
from orchestrator.storage.sweep_folder import Manifest, Published, best_folder
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
    return best_folder(resolve_storage(sweep_uri, storage_options, create=False))


def best_manifest(sweep_uri: str, storage_options: Mapping[str, Any] | None = None) -> Manifest:
    """The sweep's `best.json`."""
    return Manifest.read(best_location(sweep_uri, storage_options))


def read_best(sweep_uri: str, storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The sweep's `best.json` as a plain JSON object."""
    return best_manifest(sweep_uri, storage_options).to_json()


def fetch_best(sweep_uri: str, to_dir: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
               ) -> Path:
    """Download the best checkpoint's files into `to_dir`, each verified against its sha256; returns `to_dir`."""
    folder = best_location(sweep_uri, storage_options)
    return fetch_published(folder, Manifest.read(folder), Path(to_dir))


def load_best(sweep_uri: str, *, to_dir: str | os.PathLike[str] | None = None,
              storage_options: Mapping[str, Any] | None = None) -> BestTrial:
    """The best config and metric, with its checkpoint fetched (to `to_dir`, default a per-version cache folder)."""
    folder = best_location(sweep_uri, storage_options)
    manifest = Manifest.read(folder)
    checkpoint_path = None
    if manifest.checkpoint_dir:
        target = Path(to_dir) if to_dir is not None else cache_dir(folder, manifest)
        checkpoint_path = fetch_published(folder, manifest, target)
    return BestTrial(
        config=manifest.config,
        metric=manifest.metric,
        metric_value=manifest.metric_value,
        mode=manifest.mode,
        trial_id=manifest.trial_id,
        checkpoint_path=checkpoint_path,
        manifest=manifest.to_json(),
    )


def fetch_published(folder: StorageLocation, manifest: Published, to_dir: Path) -> Path:
    """Download the files a manifest lists into `to_dir`; if a re-publish removed them meanwhile, follow the new one."""
    try:
        return _download(folder, manifest, to_dir)
    except StorageError:
        fresh = type(manifest).read(folder)
        if fresh.version == manifest.version:
            raise
        return _download(folder, fresh, to_dir)


def _download(folder: StorageLocation, manifest: Published, to_dir: Path) -> Path:
    version_dir = manifest.checkpoint_dir
    files = manifest.files
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


def cache_dir(folder: StorageLocation, manifest: Published, kind: str = "best") -> Path:
    """`$HPO_CACHE_DIR` (default ~/.cache/hpo)/<kind>/<hash of the location>/<version>."""
    base = Path(os.environ.get("HPO_CACHE_DIR") or Path.home() / ".cache" / "hpo")
    key = hashlib.sha256(folder.display.encode()).hexdigest()[:16]
    return base / kind / key / str(manifest.version or "unversioned")
