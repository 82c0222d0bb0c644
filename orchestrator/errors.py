"""Errors a user sees as one line, never as a traceback."""
from __future__ import annotations


class HpoError(Exception):
    """Base of all errors the CLI prints as one line. `exit_code` is the process status."""

    exit_code = 1


class UserInputError(HpoError):
    """Bad input (spec, CLI argument, storage location): exit code 2, before any trial runs."""

    exit_code = 2


class SpecError(UserInputError):
    """A spec problem, located: `file:line key.path: message`."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.reason = message
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = self.path or "<spec>"
        return f"{where} {key}: {self.reason}" if where else f"{key}: {self.reason}"


class StorageError(UserInputError):
    """Storage unreachable or misconfigured (missing bucket, bad endpoint, no credentials)."""


class SweepFailed(HpoError):
    """Every trial failed; the message names the most common error."""

    exit_code = 1
