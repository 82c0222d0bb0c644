"""Sweep storage on local folders and S3 through one pyarrow code path: resolve, preflight, publish, read back."""
from orchestrator.storage.best import BestTrial, fetch_best, load_best, read_best
from orchestrator.storage.integrity import IntegrityError
from orchestrator.storage.location import STORAGE_OPTIONS, StorageLocation, resolve_storage
from orchestrator.storage.preflight import preflight
from orchestrator.storage.publish import BEST_FOLDER, BEST_MANIFEST, publish_best, publish_tree

__all__ = [
    "BEST_FOLDER", "BEST_MANIFEST", "BestTrial", "IntegrityError", "STORAGE_OPTIONS", "StorageLocation",
    "fetch_best", "load_best", "preflight", "publish_best", "publish_tree", "read_best", "resolve_storage",
]
