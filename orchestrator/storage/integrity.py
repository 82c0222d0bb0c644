"""Checks on downloaded content: the manifest follows its schema, every name stays inside the target folder, every
file matches its manifest digest."""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

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


class ManifestError(IntegrityError):
    """A manifest that does not follow its schema (crafted or damaged): one line, exit code 2."""

    exit_code = 2


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_plain_token(text: object) -> bool:
    """Whether `text` can name a folder as it is: letters, digits, `._-`, not starting with a dot, at most 128."""
    return isinstance(text, str) and _TOKEN.fullmatch(text) is not None


def check_published(manifest: Any, where: str) -> None:
    """Refuse a manifest whose version, folder or file list a download would trust: version and checkpoint_dir plain
    tokens, `files` a mapping of relative paths to {sha256: 64 hex, size: int >= 0}, not empty when there is a folder."""
    def bad(what: str) -> ManifestError:
        return ManifestError(f"malformed manifest at {where}: {what}")

    if manifest.version is not None and not is_plain_token(manifest.version):
        raise bad(f"version {str(manifest.version)[:60]!r} is not a plain token")
    folder = manifest.checkpoint_dir
    if folder is not None and not (is_plain_token(folder) and folder.startswith(manifest.PREFIX)):
        raise bad(f"checkpoint_dir {str(folder)[:60]!r} is not a {manifest.PREFIX}<version> folder name")
    files = manifest.files
    if not isinstance(files, dict):
        raise bad(f"files is a {type(files).__name__}, expected a mapping of path -> {{sha256, size}}")
    if folder is not None and not files:
        raise bad("files is empty: the checkpoint folder lists nothing to download")
    for key, entry in files.items():
        if not isinstance(key, str) or not isinstance(entry, dict):
            raise bad(f"files entry {str(key)[:60]!r} is not {{sha256, size}}")
        size = entry.get("size")
        if not isinstance(entry.get("sha256"), str) or not _SHA256.fullmatch(entry["sha256"]):
            raise bad(f"files entry {key[:60]!r} has no valid sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad(f"files entry {key[:60]!r} has no valid size")
