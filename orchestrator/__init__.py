"""hpo: distributed hyperparameter search on Ray Tune from one YAML spec.

Public API: `load_spec`, `run_sweep`, `load_best`; searchers in `orchestrator.searchers`.
Ray and the storage layer are imported on first use, so reading a spec stays fast.
"""
from __future__ import annotations

from typing import Any

from orchestrator.errors import HpoError, SpecError, StorageError, UserInputError
from orchestrator.spec import Spec, load_spec

__version__ = "0.1.0"

_LAZY = {
    "run_sweep": ("orchestrator.runner.sweep", "run_sweep"),
    "SweepResult": ("orchestrator.runner.sweep", "SweepResult"),
    "load_best": ("orchestrator.storage", "load_best"),
    "BestTrial": ("orchestrator.storage", "BestTrial"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")


__all__ = ["BestTrial", "HpoError", "Spec", "SpecError", "StorageError", "SweepResult",
           "UserInputError", "load_best", "load_spec", "run_sweep"]
