"""The public Python API: run a sweep with its progress shown, load its published best, retrain that best.

The CLI is a thin shell over these functions. Ray is imported on first use, not with this module.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TextIO

import pyarrow.fs as pafs

from orchestrator.errors import UserInputError
from orchestrator.redaction import redacted_paths
from orchestrator.spec import Spec, load_spec
from orchestrator.storage import (
    FinalManifest, Manifest, StorageLocation, best_manifest, load_best, preflight, publish_tree, resolve_storage,
)
from orchestrator.storage.lease import hold_lease
from orchestrator.storage.sweep_folder import final_folder

if TYPE_CHECKING:
    from orchestrator.runner.sweep import SweepResult

__all__ = ["RetrainResult", "load_best", "retrain_best", "run_sweep"]


def run_sweep(spec: Spec | str | Path, *, address: str | None = None, storage: str | None = None,
              overrides: Sequence[str] = (), resume: bool = False, fresh: bool = False,
              quiet: bool | None = None, stream: TextIO | None = None) -> SweepResult:
    """Run (or resume) the sweep a spec describes, with a live progress view, and publish its best checkpoint.

    `address`: a Ray cluster (auto, ray://host:10001, host:6379); default an embedded local Ray. `storage` overrides
    the spec's storage root. `fresh` replaces an existing sweep of the same name; without it (and without `resume`)
    an existing sweep is refused, so that finished work is never overwritten. `quiet`: one line per finished trial
    instead of the live view (default: quiet unless `stream`, default stdout, is a terminal).
    """
    from orchestrator.report.progress import ProgressView
    from orchestrator.runner import sweep

    if not isinstance(spec, Spec):
        spec = load_spec(spec, overrides)
    view = ProgressView(spec.metric, spec.mode, sweep.expected_trials(spec), stream=stream, quiet=quiet,
                        max_t=spec.early_stopping.max_t)
    return sweep.run_sweep(spec, address=address, storage=storage, resume=resume, fresh=fresh, stream=stream,
                           callbacks=[view])


@dataclass(frozen=True)
class RetrainResult:
    """What `retrain_best` did: the config it refitted, the test metrics of the final model, where that went."""

    config: dict[str, Any]
    test_metrics: dict[str, Any]   # plain JSON values
    location: StorageLocation      # holds final.json and the model's folder


def retrain_best(sweep_uri: str, *, out: str | None = None, storage_options: Mapping[str, Any] | None = None,
                 on_note: Callable[[str], None] | None = None) -> RetrainResult:
    """Refit a sweep's best config on train+validation with its trainable's final fit, evaluate it on the test
    split, and publish the model with `final.json` to `out` (local or s3://; default `<sweep>/final`).

    `on_note` hears what the caller should know before the fit runs (epochs cut to the best one, redacted keys).
    """
    from orchestrator.extensions.trainables import resolve_final_fit

    manifest = best_manifest(sweep_uri, storage_options)
    trainable = manifest.spec.get("trainable")
    if not trainable:
        raise UserInputError(f"{sweep_uri}: best.json has no spec.trainable; cannot retrain")
    final_fit = resolve_final_fit(str(trainable))
    if final_fit is None:
        raise UserInputError(f"trainable {trainable!r} has no final fit (give it a `final_fit` attribute)")
    config = retrain_config(manifest, on_note or (lambda _note: None))
    sweep = resolve_storage(sweep_uri, storage_options, create=False)
    target = resolve_storage(out or final_folder(sweep).uri, storage_options)
    preflight(target)
    with hold_lease(sweep, "hpo train"), tempfile.TemporaryDirectory(prefix="hpo-final-") as work:
        metrics = final_fit(config, work)
        record = FinalManifest(config=config, test_metrics=metrics, trainable=trainable, spec=manifest.spec,
                               from_best=sweep_uri, best_version=manifest.version,
                               best_metric={manifest.metric: manifest.metric_value})
        publish_tree(target, (pafs.LocalFileSystem(), work), record)
    return RetrainResult(config=config, test_metrics=json.loads(json.dumps(metrics, default=float)),
                         location=target)


def retrain_config(manifest: Manifest, on_note: Callable[[str], None]) -> dict[str, Any]:
    """The best config as it is refitted: an epoch-based trainable runs for the epochs where the best checkpoint
    was (the best-validation epoch), not for `max_epochs`."""
    config = dict(manifest.config)
    iteration, max_epochs = manifest.iteration, config.get("max_epochs")
    if isinstance(iteration, int) and isinstance(max_epochs, int) and iteration < max_epochs:
        on_note(f"retraining for {iteration} epochs, where the best checkpoint was (max_epochs was {max_epochs})")
        config["max_epochs"] = iteration
    for path in redacted_paths(config):
        on_note(f"warning: config key {path} was redacted in best.json; the trainable gets the placeholder")
    return config
