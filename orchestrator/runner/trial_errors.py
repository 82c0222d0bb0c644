"""Reading a failed trial's error on the driver, as soon as Ray reports the failure.

`Trial.get_error()` is still empty when callbacks hear of the failure; the error file Ray
writes beside the trial already holds the traceback.
"""
from __future__ import annotations

from typing import Any


def error_text(trial: Any) -> str:
    """The errored trial's traceback text ("" when there is none)."""
    path = getattr(trial, "error_file", None)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except (OSError, TypeError):
        get_error = getattr(trial, "get_error", None)
        error = get_error() if callable(get_error) else getattr(trial, "error_msg", None)
        return str(error or "")


def last_line(text: str, default: str = "error") -> str:
    """The line that names the original exception: Ray wraps the trainable's exception, whose
    own message is the last non-empty line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else default


def last_error_line(trial: Any) -> str:
    """`last_line` of a failed trial's traceback."""
    return last_line(error_text(trial))
