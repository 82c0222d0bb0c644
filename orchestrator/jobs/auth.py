"""Client side of Ray's token authentication for the Jobs API.

Ray clusters started with `RAY_AUTH_MODE=token` refuse dashboard and Jobs API requests without
`Authorization: Bearer <token>`. The token is looked up the way Ray itself does:
`RAY_AUTH_TOKEN`, else the file `RAY_AUTH_TOKEN_PATH`, else `~/.ray/auth_token`. It is sent as
a header only, never put into a job's runtime environment, and `Redactor` strips it from
anything the job commands print.
"""
from __future__ import annotations

import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from orchestrator.redaction import redact_text

TOKEN_ENV = "RAY_AUTH_TOKEN"
TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"
MODE_ENV = "RAY_AUTH_MODE"
DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")
MASK = "***"


@dataclass(frozen=True)
class TokenSource:
    """A token and where it came from (the place is safe to print, the token never); `file` when read from one."""

    token: str
    origin: str
    file: Path | None = None


def find_token() -> TokenSource | None:
    """The token this client should send, or None (no token, or `RAY_AUTH_MODE=disabled`)."""
    if os.environ.get(MODE_ENV, "").strip().lower() == "disabled":
        return None
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return TokenSource(from_env, TOKEN_ENV)
    explicit = os.environ.get(TOKEN_PATH_ENV, "").strip()
    path = Path(explicit).expanduser() if explicit else DEFAULT_TOKEN_FILE.expanduser()
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return TokenSource(token, str(path), path) if token else None


def auth_headers(source: TokenSource | None) -> dict[str, str]:
    """HTTP headers carrying the token; Ray's SDK then adds none of its own."""
    return {"Authorization": f"Bearer {source.token}"} if source else {}


class Redactor:
    """Replaces the token in text before it is printed or raised."""

    def __init__(self, source: TokenSource | None) -> None:
        self._token = source.token if source else None

    def __call__(self, text: str) -> str:
        text = redact_text(text)   # and any user:password@ in URLs
        return text.replace(self._token, MASK) if self._token else text


def transport_warnings(source: TokenSource | None, url: str) -> list[str]:
    """What is unsafe about sending `source` to `url`: a token file others can write (they choose what is sent,
    or read it back from a server they run), a token over plain http to a host that is not loopback."""
    if source is None:
        return []
    found = []
    if source.file is not None:
        try:
            mode = source.file.stat().st_mode
        except OSError:
            mode = 0
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            found.append(f"token file {source.file} is writable by group or others; chmod 600 it")
    parts = urlsplit(url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        found.append(f"the token from {source.origin} is sent over plain http to {parts.hostname}; "
                     f"use https (or an SSH tunnel to localhost)")
    return found


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def missing_token_hint() -> str:
    """What to do when a cluster asks for a token (names places, never values)."""
    return (f"set {TOKEN_ENV}, or put the cluster's token in ~/.ray/auth_token "
            f"(or a file named by {TOKEN_PATH_ENV})")
