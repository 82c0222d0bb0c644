"""Client side of Ray's token authentication for the Jobs API.

Ray clusters started with `RAY_AUTH_MODE=token` refuse dashboard and Jobs API requests without
`Authorization: Bearer <token>`. The token is looked up the way Ray itself does:
`RAY_AUTH_TOKEN`, else the file `RAY_AUTH_TOKEN_PATH`, else `~/.ray/auth_token`. It is sent as
a header only, never put into a job's runtime environment, and `Redactor` strips it from
anything the job commands print.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "RAY_AUTH_TOKEN"
TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"
MODE_ENV = "RAY_AUTH_MODE"
DEFAULT_TOKEN_FILE = Path("~/.ray/auth_token")
MASK = "***"


@dataclass(frozen=True)
class TokenSource:
    """A token and where it came from (the place is safe to print, the token never)."""

    token: str
    origin: str


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
    return TokenSource(token, str(path)) if token else None


def auth_headers(source: TokenSource | None) -> dict[str, str]:
    """HTTP headers carrying the token; Ray's SDK then adds none of its own."""
    return {"Authorization": f"Bearer {source.token}"} if source else {}


class Redactor:
    """Replaces the token in text before it is printed or raised."""

    def __init__(self, source: TokenSource | None) -> None:
        self._token = source.token if source else None

    def __call__(self, text: str) -> str:
        return text.replace(self._token, MASK) if self._token else text


def missing_token_hint() -> str:
    """What to do when a cluster asks for a token (names places, never values)."""
    return (f"set {TOKEN_ENV}, or put the cluster's token in ~/.ray/auth_token "
            f"(or a file named by {TOKEN_PATH_ENV})")
