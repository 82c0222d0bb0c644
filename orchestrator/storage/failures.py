"""Turn pyarrow / AWS SDK errors (long, multi-line) into one line a person can act on."""
from __future__ import annotations

import re

from orchestrator.redaction import redact_text

_MAX_DETAIL = 200

# (pattern in the SDK message, what it means); first match wins.
_KNOWN: tuple[tuple[str, str], ...] = (
    (r"NO_SUCH_BUCKET|NoSuchBucket|bucket does not exist", "the bucket does not exist"),
    (r"NETWORK_CONNECTION|curlCode|Couldn't connect|Connection refused|Could not resolve|timed out|Timeout",
     "cannot reach the S3 endpoint"),
    (r"InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|InvalidToken|credentials",
     "the AWS credentials were rejected"),
    (r"UNKNOWN \(HTTP status|RESOURCE_NOT_FOUND.*No response body",
     "the endpoint does not answer like an S3 server (wrong endpoint URL?)"),
    (r"ACCESS_DENIED|AccessDenied|Access Denied|Forbidden|Permission denied|Errno 13", "access denied"),
    (r"Read-only file system|Errno 30", "the folder is read-only"),
    (r"No space left|Errno 28", "no space left on the device"),
)


def cause(exc: BaseException) -> str | None:
    """The known cause behind an I/O error, or None when it is not one we recognise."""
    text = str(exc)
    for pattern, meaning in _KNOWN:
        if re.search(pattern, text):
            return meaning
    return None


def one_line(exc: BaseException) -> str:
    """The error's message on one line, shortened, prefixed by its known cause when there is one."""
    detail = redact_text(re.sub(r"\s+", " ", str(exc) or type(exc).__name__).strip())
    detail = detail.split("AWS Error ", 1)[-1]  # drop the SDK's "When doing X for key K in bucket B: " preamble
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 1] + "…"
    meaning = cause(exc)
    return f"{meaning} ({detail})" if meaning else detail


def is_transient(exc: BaseException) -> bool:
    """Whether retrying might help: network trouble and server errors, not missing files or denied access."""
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return False
    if not isinstance(exc, OSError):
        return False
    meaning = cause(exc)
    return meaning is None or meaning == "cannot reach the S3 endpoint"
