"""Sweep storage on local folders and S3 through one pyarrow code path: resolve, preflight, publish, read back.

Layout of a sweep `<storage>/<name>/` (Ray Tune's experiment folder):
    best/best.json                 manifest, written last and atomically: config, metric, metric_value, mode,
                                   trial_id, iteration, spec, versions, version, checkpoint_dir, published_at,
                                   files {relative path: {sha256, size}}; secrets redacted
    best/checkpoint-<version>/     the best checkpoint's files; a re-publish writes a new folder, switches the
                                   manifest, then deletes all but the current and previous folders
    final/final.json, final/model-<version>/   what `hpo train --from-best` writes (default --out)

S3 settings come from the standard AWS chain (env, ~/.aws, instance roles); `AWS_ENDPOINT_URL` or
`storage_options.endpoint_url` points at MinIO or another S3-compatible server. Servers that handle the SDK's
`aws-chunked` uploads with trailing checksums poorly (older S3-compatibles, moto) want the standard AWS switch
`AWS_REQUEST_CHECKSUM_CALCULATION=when_required` in the environment (it reaches Ray workers too).
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
