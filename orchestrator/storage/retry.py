"""Retry a whole storage operation with exponential backoff, on top of the SDK's own per-request retries."""
from __future__ import annotations

import logging
import random
import time
from typing import Callable, TypeVar

from orchestrator.errors import StorageError
from orchestrator.storage.failures import is_transient, one_line

log = logging.getLogger("orchestrator.storage")
T = TypeVar("T")

ATTEMPTS = 3
BASE_DELAY_S = 0.5


def with_retries(operation: Callable[[], T], what: str, *, attempts: int = ATTEMPTS,
                 base_delay_s: float = BASE_DELAY_S) -> T:
    """Run `operation`; on a transient I/O error wait (0.5 s, 1 s, ... with jitter) and retry, then raise StorageError."""
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except OSError as exc:
            if attempt == attempts or not is_transient(exc):
                raise StorageError(f"{what} failed after {attempt} attempt(s): {one_line(exc)}") from exc
            delay = base_delay_s * 2 ** (attempt - 1) * (1 + random.random() / 2)
            log.warning("%s: attempt %d/%d failed (%s); retrying in %.1fs", what, attempt, attempts, one_line(exc), delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
