"""Resuming a sweep: the stored spec decides whether a changed spec may continue it."""
from __future__ import annotations

from typing import Any

import yaml

from orchestrator.errors import UserInputError
from orchestrator.extensions.searchers import SEARCHERS
from orchestrator.storage import StorageLocation
from orchestrator.storage.sweep_folder import SPEC_FILE

# Keys whose change would make old and new trials incomparable; everything else
# (num_samples upwards, time budget, concurrency, retries, resources, storage options, description) may change.
RESULT_KEYS: tuple[tuple[str, ...], ...] = (
    ("trainable",), ("metric",), ("mode",), ("config",), ("space",),
    ("search", "method"), ("search", "seed"),  # num_samples may grow: runner.extension
    *(("search", entry.options_key) for entry in SEARCHERS.values() if entry.options_key),
    ("early_stopping",),
)


def read_stored_spec(sweep: StorageLocation) -> dict[str, Any] | None:
    """The spec a sweep was started with, or None for sweeps without one."""
    path = f"{sweep.path}/{SPEC_FILE}"
    try:
        with sweep.filesystem.open_input_stream(path) as stream:
            return yaml.safe_load(stream.read().decode("utf-8"))
    except FileNotFoundError:
        return None


def write_stored_spec(sweep: StorageLocation, raw: dict[str, Any]) -> None:
    """Keep the spec (already redacted) beside the experiment: `hpo ls`, reports and
    `--resume` read it."""
    sweep.filesystem.create_dir(sweep.path, recursive=True)
    text = yaml.safe_dump(raw, sort_keys=False)
    with sweep.filesystem.open_output_stream(f"{sweep.path}/{SPEC_FILE}") as out:
        out.write(text.encode("utf-8"))


def _lookup(raw: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = raw
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def check_resumable(stored: dict[str, Any] | None, current: dict[str, Any], where: str) -> None:
    """Refuse (one line, exit 2) a resume whose spec changes what results mean."""
    if stored is None:
        return
    for path in RESULT_KEYS:
        before, after = _lookup(stored, path), _lookup(current, path)
        if before != after:
            key = ".".join(path)
            raise UserInputError(f"cannot resume {where}: {key} changed since the sweep started "
                                 f"({before!r} -> {after!r}); results would be inconsistent. "
                                 f"Start a new sweep (--set name=...) or restore the old value")
