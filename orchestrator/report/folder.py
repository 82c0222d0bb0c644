"""Read-only access to one sweep folder on any pyarrow filesystem (local or S3), tolerant of a sweep
that is still being written: missing files read as absent, and a half-written JSON line is skipped."""
from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow.fs as pafs
import yaml

from orchestrator.errors import StorageError
from orchestrator.storage import StorageLocation
from orchestrator.storage.failures import one_line
from orchestrator.storage.sweep_folder import (
    BEST_FOLDER, BEST_MANIFEST, SPEC_FILE, Manifest, RayTrial, newest_experiment_state, ray_trials,
)


@dataclass(frozen=True)
class Entry:
    """One item in a listed folder."""

    name: str
    is_dir: bool
    mtime: datetime | None


@dataclass(frozen=True)
class FileEntry:
    """One file anywhere under the sweep folder: its path relative to the folder, size and time."""

    path: str
    size: int
    mtime: datetime | None


class SweepFolder:
    """The files of `<storage>/<name>/`, read through the location's filesystem."""

    def __init__(self, location: StorageLocation) -> None:
        self.location = location
        self.fs: pafs.FileSystem = location.filesystem

    @property
    def name(self) -> str:
        return posixpath.basename(self.location.path.rstrip("/"))

    def exists(self) -> bool:
        return self.fs.get_file_info(self.location.path).type == pafs.FileType.Directory

    def entries(self, *parts: str) -> list[Entry]:
        """What a sub-folder holds (not recursive); empty if it does not exist."""
        where = self.location.join(*parts)
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(where.path, allow_not_found=True))
        except OSError as exc:
            raise StorageError(f"cannot list {where.display}: {one_line(exc)}") from exc
        return [Entry(posixpath.basename(info.path), info.type == pafs.FileType.Directory, info.mtime)
                for info in infos]

    def files(self) -> list[FileEntry]:
        """Every file under the folder, recursively: one listing (paged LIST requests on S3), the base of
        incremental reads that fetch only files whose size changed."""
        root = self.location.path.rstrip("/")
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(root, allow_not_found=True, recursive=True))
        except OSError as exc:
            raise StorageError(f"cannot list {self.location.display}: {one_line(exc)}") from exc
        return [FileEntry(info.path[len(root) + 1:], info.size or 0, info.mtime)
                for info in infos if info.type == pafs.FileType.File]

    def read_range(self, relative_path: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of a file (on S3 a HEAD and one ranged GET): the lines appended since the last read."""
        path = self.location.join(*relative_path.split("/")).path
        try:
            with self.fs.open_input_file(path) as handle:
                return handle.read_at(end - start, start)
        except OSError as exc:
            raise StorageError(f"cannot read {self.location.join(relative_path).display}: {one_line(exc)}") from exc

    def read_bytes(self, *parts: str) -> bytes | None:
        """A file's bytes, or None when it does not exist (yet)."""
        path = self.location.join(*parts).path
        try:
            with self.fs.open_input_stream(path) as stream:
                return stream.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            if "not found" in str(exc).lower() or "no such file" in str(exc).lower():
                return None
            raise StorageError(f"cannot read {self.location.join(*parts).display}: {one_line(exc)}") from exc

    def read_json(self, *parts: str) -> Any:
        """A JSON file's content, or None when missing or not (yet) valid JSON."""
        raw = self.read_bytes(*parts)
        try:
            return json.loads(raw) if raw is not None else None
        except ValueError:
            return None

    def read_json_lines(self, *parts: str) -> list[dict[str, Any]]:
        """Every complete JSON object of a JSON-lines file; a line still being written is skipped."""
        raw = self.read_bytes(*parts)
        rows: list[dict[str, Any]] = []
        for line in (raw or b"").decode("utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def spec(self) -> dict[str, Any] | None:
        """The spec the sweep ran with (secrets already redacted by the runner)."""
        raw = self.read_bytes(SPEC_FILE)
        try:
            spec = yaml.safe_load(raw) if raw is not None else None
        except yaml.YAMLError:
            return None
        return spec if isinstance(spec, dict) else None

    def best(self) -> Manifest | None:
        """The published best.json, or None while the sweep has not finished."""
        best = self.read_json(BEST_FOLDER, BEST_MANIFEST)
        return Manifest.from_json(best) if isinstance(best, dict) else None

    def ray_trials(self, entries: list[Entry] | None = None) -> tuple[dict[str, RayTrial], Entry | None]:
        """The trials Ray's newest experiment-state file lists, and that file's entry (None when there is none)."""
        listed = entries if entries is not None else self.entries()
        newest = newest_experiment_state(e.name for e in listed)
        if newest is None:
            return {}, None
        return ray_trials(self.read_json(newest)), next(e for e in listed if e.name == newest)
