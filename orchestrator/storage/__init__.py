"""Sweep storage on local folders and S3 through one pyarrow code path: resolve, preflight, publish, read back.

Layout of a sweep `<storage>/<name>/` (Ray Tune's experiment folder):
    best/best.json                 manifest, written last and atomically: config, metric, metric_value, mode,
                                   trial_id, iteration, spec, versions, version, checkpoint_dir, published_at,
                                   files {relative path: {sha256, size}}; secrets redacted
    best/checkpoint-<version>/     the best checkpoint's files; a re-publish writes a new folder, switches the
                                   manifest, then deletes all but the current and previous folders
    final/final.json, final/model-<version>/   what `hpo train --from-best` writes (default --out)

S3 settings come from the standard AWS chain (env, AWS_PROFILE, ~/.aws, instance roles); `AWS_ENDPOINT_URL` or
`storage_options.endpoint_url` points at MinIO or another S3-compatible server. For such a custom endpoint the
SDK's request checksums default to `when_required` (plain part bodies; many S3-compatible servers handle the
`aws-chunked` trailing-checksum uploads of `when_supported` slowly or not at all); `storage_options.request_checksum`
or AWS_REQUEST_CHECKSUM_CALCULATION overrides it. No credential is ever passed to the filesystem object, because
Ray pickles it into the sweep folder (tuner.pkl).
"""
from orchestrator.storage.best import BestTrial, fetch_best, load_best, read_best
from orchestrator.storage.integrity import IntegrityError
from orchestrator.storage.location import STORAGE_OPTIONS, StorageLocation, resolve_storage
from orchestrator.storage.preflight import preflight
from orchestrator.storage.publish import BEST_FOLDER, BEST_MANIFEST, publish_best, publish_tree

__all__ = [
    "BEST_FOLDER", "BEST_MANIFEST", "BestTrial", "IntegrityError", "STORAGE_OPTIONS", "StorageLocation",
    "fetch_best", "load_best", "preflight", "publish_best", "publish_tree", "read_best", "resolve_storage",
]
