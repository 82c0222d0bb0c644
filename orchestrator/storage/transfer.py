"""Copy files between any two pyarrow filesystems in one streaming pass that also computes sha256 and size."""
from __future__ import annotations

import hashlib
import posixpath
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.fs as pafs

from orchestrator.errors import StorageError
from orchestrator.storage.failures import one_line
from orchestrator.storage.retry import with_retries

CHUNK_BYTES = 8 * 1024 * 1024
READ_AHEAD_CHUNKS = 6  # ranged reads in flight per large file (bounds memory to 48 MiB per file)
MAX_PARALLEL_FILES = 8

FileCallback = Callable[[str, "FileDigest"], None]


@dataclass(frozen=True)
class FileDigest:
    """What a manifest records per file."""

    sha256: str
    size: int

    def as_dict(self) -> dict[str, object]:
        return {"sha256": self.sha256, "size": self.size}


def list_tree(fs: pafs.FileSystem, root: str) -> list[str]:
    """Relative POSIX paths of every file below `root`, sorted."""
    try:
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    except OSError as exc:
        raise StorageError(f"cannot list {root}: {one_line(exc)}") from exc
    base = root.rstrip("/") + "/"
    return sorted(info.path[len(base):] for info in infos if info.type == pafs.FileType.File)


def digest(fs: pafs.FileSystem, path: str) -> FileDigest:
    """sha256 and size of one file, streamed."""
    sha, size = hashlib.sha256(), 0
    with fs.open_input_stream(path) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            sha.update(chunk)
            size += len(chunk)
    return FileDigest(sha.hexdigest(), size)


def read_chunks(source: pa.NativeFile) -> Iterator[bytes]:
    """The file's bytes in order, fetched as parallel ranged reads (several GETs in flight on S3) when it is large."""
    total = source.size()
    if total <= CHUNK_BYTES:
        yield source.read()
        return
    offsets = iter(range(0, total, CHUNK_BYTES))
    with ThreadPoolExecutor(max_workers=READ_AHEAD_CHUNKS, thread_name_prefix="hpo-read") as pool:
        pending: deque[Future[bytes]] = deque()

        def submit_next() -> None:
            offset = next(offsets, None)
            if offset is not None:
                pending.append(pool.submit(source.read_at, min(CHUNK_BYTES, total - offset), offset))

        for _ in range(READ_AHEAD_CHUNKS):
            submit_next()
        while pending:
            chunk = pending.popleft().result()
            submit_next()
            yield chunk


def _copy_once(src_fs: pafs.FileSystem, src: str, dst_fs: pafs.FileSystem, dst: str) -> FileDigest:
    if dst_fs.type_name == "local":
        dst_fs.create_dir(posixpath.dirname(dst), recursive=True)
    sha, size = hashlib.sha256(), 0
    # S3 output streams upload multipart with background (concurrent) part writes; close() completes the upload.
    with src_fs.open_input_file(src) as source, dst_fs.open_output_stream(dst, metadata={}) as sink:
        for chunk in read_chunks(source):
            sha.update(chunk)
            size += len(chunk)
            sink.write(chunk)
    written = dst_fs.get_file_info(dst).size
    if written != size:
        raise OSError(f"size mismatch after writing {dst}: wrote {size} bytes, found {written}")
    return FileDigest(sha.hexdigest(), size)


def copy_file(src_fs: pafs.FileSystem, src: str, dst_fs: pafs.FileSystem, dst: str, *, what: str) -> FileDigest:
    """Copy one file (retried with backoff on transient errors); returns its sha256 and size."""
    return with_retries(lambda: _copy_once(src_fs, src, dst_fs, dst), what)


def copy_tree(src_fs: pafs.FileSystem, src_root: str, dst_fs: pafs.FileSystem, dst_root: str,
              *, on_file: FileCallback | None = None, parallel: int = MAX_PARALLEL_FILES) -> dict[str, FileDigest]:
    """Copy every file below `src_root` to `dst_root`, several at a time; returns {relative path: digest}."""
    names = list_tree(src_fs, src_root)

    def one(rel: str) -> tuple[str, FileDigest]:
        got = copy_file(src_fs, posixpath.join(src_root, rel), dst_fs, posixpath.join(dst_root, rel),
                        what=f"copying {rel}")
        if on_file is not None:
            on_file(rel, got)
        return rel, got

    if len(names) <= 1 or parallel <= 1:
        return dict(one(rel) for rel in names)
    with ThreadPoolExecutor(max_workers=min(parallel, len(names)), thread_name_prefix="hpo-copy") as pool:
        return dict(pool.map(one, names))
