"""Read what a sweep published: the best manifest, its checkpoint downloaded and verified, or both as a BestTrial."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from orchestrator.storage.fetch import fetch_published
from orchestrator.storage.integrity import is_plain_token
from orchestrator.storage.location import StorageLocation, resolve_storage
from orchestrator.storage.sweep_folder import Manifest, Published, best_folder


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


def fetch_best(sweep_uri: str, to_dir: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None,
               *, force: bool = False) -> Path:
    """Download the best checkpoint into `to_dir` all-or-nothing, every file verified against its sha256; a non-empty
    `to_dir` that is not an earlier fetch of this sweep is refused unless `force`. Returns `to_dir`."""
    folder = best_location(sweep_uri, storage_options)
    return fetch_published(folder, Manifest.read(folder), Path(to_dir), force=force)


def load_best(sweep_uri: str, *, to_dir: str | os.PathLike[str] | None = None,
              storage_options: Mapping[str, Any] | None = None, force: bool = False) -> BestTrial:
    """The best config and metric, with its checkpoint fetched (to `to_dir`, default a per-version cache folder)."""
    folder = best_location(sweep_uri, storage_options)
    manifest = Manifest.read(folder)
    checkpoint_path = None
    if manifest.checkpoint_dir:
        target = Path(to_dir) if to_dir is not None else cache_dir(folder, manifest)
        checkpoint_path = fetch_published(folder, manifest, target, force=force)
    return BestTrial(
        config=manifest.config,
        metric=manifest.metric,
        metric_value=manifest.metric_value,
        mode=manifest.mode,
        trial_id=manifest.trial_id,
        checkpoint_path=checkpoint_path,
        manifest=manifest.to_json(),
    )


def cache_dir(folder: StorageLocation, manifest: Published, kind: str = "best") -> Path:
    """`$HPO_CACHE_DIR` (default ~/.cache/hpo)/<kind>/<hash of the location>/<version>, the version hashed unless it is a
    plain token: nothing a manifest says can move the folder out of the cache."""
    base = Path(os.environ.get("HPO_CACHE_DIR") or Path.home() / ".cache" / "hpo")
    key = hashlib.sha256(folder.display.encode()).hexdigest()[:16]
    version = manifest.version
    leaf = version if is_plain_token(version) else "v-" + hashlib.sha256(str(version).encode()).hexdigest()[:16]
    return base / kind / key / leaf
