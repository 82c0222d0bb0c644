"""Checks on downloaded content: every name stays inside the target folder, every file matches its manifest digest."""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from orchestrator.errors import HpoError
from orchestrator.storage.transfer import FileDigest


class IntegrityError(HpoError):
    """Published content that must not be used: a checksum mismatch, or a file name escaping the target folder."""

    exit_code = 1


def safe_target(root: Path, key: str) -> Path:
    """Where `key` (a manifest's relative POSIX path) lands under `root`; refuse names that would land outside it."""
    parts = PurePosixPath(key).parts
    bad = (not key or "\\" in key or "\x00" in key or key.startswith("/") or ":" in parts[0]
           or any(p in ("..", ".") for p in parts))
    target = (root / Path(*parts)).resolve() if parts and not bad else root
    if bad or target == root or not target.is_relative_to(root.resolve()):
        raise IntegrityError(f"refusing manifest key {key!r}: it would be written outside {root}")
    return target


def verify(key: str, expected: dict[str, object], got: FileDigest) -> None:
    """Raise IntegrityError naming `key` when its bytes differ from the manifest's sha256 or size."""
    if got.sha256 != expected.get("sha256") or got.size != expected.get("size"):
        raise IntegrityError(
            f"checksum mismatch for {key}: manifest says sha256 {str(expected.get('sha256'))[:12]}… "
            f"({expected.get('size')} bytes), downloaded {got.sha256[:12]}… ({got.size} bytes); the copy is corrupted")
