"""The small JSON card written beside a final model, so a reader knows what the file holds."""
from __future__ import annotations

import json
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CARD_FILE = "model.json"


def write_card(out_dir: str | Path, *, trainable: str, model_file: str,
               config: Mapping[str, Any], metrics: Mapping[str, float],
               extra: Mapping[str, Any] | None = None) -> Path:
    """Write `model.json` (trainable, model file, config, test metrics, versions, time)."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str] = {"python": platform.python_version()}
    for package in ("scikit-learn", "torch", "numpy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    card = {"trainable": trainable, "model_file": model_file, "config": dict(config),
            "metrics": dict(metrics), "versions": versions,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(extra or {})}
    path = Path(out_dir) / CARD_FILE
    path.write_text(json.dumps(card, indent=2, sort_keys=True, default=str) + "\n")
    return path
