"""Opening a sweep's folder for a run: the storage proven writable, then a new sweep, a resumed one or a
replaced one; finished work is never overwritten by accident."""
from __future__ import annotations

import pyarrow.fs as pafs

from orchestrator.errors import UserInputError
from orchestrator.redaction import redact
from orchestrator.runner.extension import check_extension
from orchestrator.runner.resume import check_resumable, read_stored_spec
from orchestrator.spec import Spec
from orchestrator.storage import StorageLocation, preflight, resolve_storage
from orchestrator.storage.lease import LEASE_FILES


def sweep_location(spec: Spec, storage: str | None) -> StorageLocation:
    """`<storage root>/<name>`, the root being `storage` or else the spec's, once it took a test write."""
    root = resolve_storage(storage or spec.storage, spec.storage_options)
    preflight(root)
    return root.join(spec.name)


def claim_sweep(sweep: StorageLocation, spec: Spec, *, resume: bool, fresh: bool) -> None:
    """Make `sweep` ready for this run: `resume` needs a sweep there whose stored spec keeps results comparable;
    otherwise an existing sweep is refused, or deleted when `fresh`."""
    from ray import tune

    exists = has_experiment(sweep) and tune.Tuner.can_restore(sweep.path, storage_filesystem=sweep.filesystem)
    if resume and not exists:
        raise UserInputError(f"nothing to resume: no sweep at {sweep.display}")
    if resume:
        stored = read_stored_spec(sweep)
        check_resumable(stored, redact(spec.raw), sweep.display)
        check_extension(stored, spec, sweep.display)
    if exists and not resume:
        if not fresh:
            raise UserInputError(f"{sweep.display} already holds a sweep: add --resume to continue it, "
                                 f"--fresh to replace it, or --set name=<new name>")
        _delete_all_but_lease(sweep)


def _delete_all_but_lease(sweep: StorageLocation) -> None:
    """Empty the sweep's folder for --fresh, keeping the lease this run holds."""
    for info in sweep.filesystem.get_file_info(pafs.FileSelector(sweep.path)):
        if info.base_name in LEASE_FILES:
            continue
        if info.type == pafs.FileType.Directory:
            sweep.filesystem.delete_dir(info.path)
        else:
            sweep.filesystem.delete_file(info.path)


def has_experiment(sweep: StorageLocation) -> bool:
    """Whether the sweep's folder exists (Ray may have started writing its experiment there)."""
    return sweep.filesystem.get_file_info(sweep.path).type == pafs.FileType.Directory
