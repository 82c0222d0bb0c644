"""The storage backends a spec's `storage:` may name, and the `storage_options` they take.

Declared here, below the spec, so that validating a spec knows them without importing
pyarrow or boto3; `orchestrator.storage.location` resolves a URI with these schemes.
"""
from __future__ import annotations

# URI scheme -> backend; "" is a plain path.
STORAGE_SCHEMES: dict[str, str] = {"": "local", "file": "local", "s3": "s3", "s3a": "s3"}

# `storage_options` keys (S3 and S3-compatible servers) and what each sets.
STORAGE_OPTIONS: dict[str, str] = {
    "endpoint_url": "S3-compatible server (MinIO, ...); else AWS_ENDPOINT_URL or AWS",
    "region": "bucket region",
    "role_arn": "IAM role to assume",
    "connect_timeout": "seconds to connect",
    "request_timeout": "seconds per request",
    "max_attempts": "retries of a failed request",
    "request_checksum": "when_supported | when_required (SDK request checksums)",
}
