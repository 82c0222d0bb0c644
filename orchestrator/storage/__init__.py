"""Sweep storage on local folders and S3 through one pyarrow code path: resolve, preflight, publish, read back.

The layout of a sweep `<storage>/<name>/` (Ray Tune's experiment folder plus `spec.yaml`, `best/` and `final/`) and
its manifests (`Manifest` for best/best.json, `FinalManifest` for final/final.json) are defined in `sweep_folder`.

S3 settings come from the standard AWS chain (env, AWS_PROFILE, ~/.aws, instance roles); `AWS_ENDPOINT_URL` or
`storage_options.endpoint_url` points at MinIO or another S3-compatible server. For such a custom endpoint the
SDK's request checksums default to `when_required` (plain part bodies; many S3-compatible servers handle the
`aws-chunked` trailing-checksum uploads of `when_supported` slowly or not at all); `storage_options.request_checksum`
or AWS_REQUEST_CHECKSUM_CALCULATION overrides it. No credential is ever passed to the filesystem object, because
Ray pickles it into the sweep folder (tuner.pkl).
"""
from orchestrator.storage.best import BestTrial, best_manifest, fetch_best, load_best, read_best
from orchestrator.storage.integrity import IntegrityError
from orchestrator.storage.location import STORAGE_OPTIONS, StorageLocation, resolve_storage
from orchestrator.storage.preflight import preflight
from orchestrator.storage.publish import publish_best, publish_tree
from orchestrator.storage.sweep_folder import BEST_FOLDER, BEST_MANIFEST, FinalManifest, Manifest

__all__ = [
    "BEST_FOLDER", "BEST_MANIFEST", "BestTrial", "FinalManifest", "IntegrityError", "Manifest", "STORAGE_OPTIONS",
    "StorageLocation", "best_manifest", "fetch_best", "load_best", "preflight", "publish_best", "publish_tree",
    "read_best", "resolve_storage",
]
