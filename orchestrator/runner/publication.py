"""What a finished sweep publishes: the best trial's checkpoint under `best/`, described by its `Manifest`."""
from __future__ import annotations

import platform
from datetime import datetime, timezone
from typing import Any

from orchestrator.redaction import merge_secrets, redact
from orchestrator.runner.outcome import Finished
from orchestrator.spec import Spec
from orchestrator.storage import Manifest, StorageLocation, publish_best

REPRODUCIBILITY_DISTRIBUTIONS = ("hpo", "ray", "scikit-optimize", "scikit-learn", "torch", "numpy")


def publish(spec: Spec, sweep: StorageLocation, finished: Finished, secrets: dict[str, Any]) -> tuple[Manifest, str]:
    """Publish the best checkpoint with its manifest; returns the manifest and the best folder's URI. The secrets
    never went through Ray: the manifest shows their keys, never their values."""
    best = finished.best
    manifest = Manifest(
        name=spec.name, sweep_uri=sweep.uri, config=redact(merge_secrets(best.config, secrets)),
        metric=spec.metric, metric_value=best.metric_value, mode=spec.mode, trial_id=best.trial_id,
        iteration=best.iteration, spec=redact(spec.raw), versions=versions(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        num_trials=finished.num_trials, num_failed=len(finished.failures),
    )
    return manifest, publish_best(sweep, best.checkpoint, manifest)


def versions() -> dict[str, str]:
    """Versions that matter to reproduce a sweep."""
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for dist in REPRODUCIBILITY_DISTRIBUTIONS:
        try:
            found[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return found
