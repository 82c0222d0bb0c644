"""Before any trial runs: prove the storage location takes a write, a read and a delete, or say why in one line."""
from __future__ import annotations

import uuid

from orchestrator.errors import StorageError
from orchestrator.storage import s3
from orchestrator.storage.failures import one_line
from orchestrator.storage.location import StorageLocation

_NO_CREDENTIALS = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                   "or run with an instance role")


def preflight(location: StorageLocation) -> None:
    """Write, read back and delete a marker object under `location`; raise StorageError (exit code 2) on any failure."""
    if location.is_s3 and not s3.has_credentials():
        raise StorageError(f"storage {location.display}: {_NO_CREDENTIALS}")
    fs = location.filesystem
    marker = location.join(f".hpo-preflight-{uuid.uuid4().hex}")
    payload = f"hpo preflight {marker.uri}\n".encode()
    step = "write to"
    try:
        if not location.is_s3:
            fs.create_dir(location.path, recursive=True)
        with fs.open_output_stream(marker.path) as out:
            out.write(payload)
        step = "read back from"
        with fs.open_input_stream(marker.path) as stream:
            echoed = stream.read()
        step = "delete from"
        fs.delete_file(marker.path)
    except OSError as exc:
        raise StorageError(f"storage {location.display}: cannot {step} it: {one_line(exc)}") from None
    if echoed != payload:
        raise StorageError(f"storage {location.display}: a marker read back differs from what was written")
