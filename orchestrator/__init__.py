"""hpo: distributed hyperparameter search on Ray Tune from one YAML spec.

Public API: `load_spec`, `run_sweep`, `load_best`, `retrain_best` (see `orchestrator.api`), `build_ensemble`,
`load_ensemble` (see `orchestrator.reuse`); searchers in
`orchestrator.searchers`. Ray and the storage layer are imported on first use, so reading a spec stays fast.
"""
from __future__ import annotations

from typing import Any

from orchestrator.errors import HpoError, SpecError, StorageError, UserInputError
from orchestrator.spec import Spec, load_spec

__version__ = "0.1.0"

_LAZY = {
    "run_sweep": ("orchestrator.api", "run_sweep"),
    "load_best": ("orchestrator.api", "load_best"),
    "retrain_best": ("orchestrator.api", "retrain_best"),
    "RetrainResult": ("orchestrator.api", "RetrainResult"),
    "SweepResult": ("orchestrator.runner.sweep", "SweepResult"),
    "BestTrial": ("orchestrator.storage", "BestTrial"),
    "build_ensemble": ("orchestrator.reuse", "build_ensemble"),
    "load_ensemble": ("orchestrator.reuse", "load_ensemble"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")


__all__ = ["BestTrial", "HpoError", "RetrainResult", "Spec", "SpecError", "StorageError", "SweepResult",
           "UserInputError", "build_ensemble", "load_best", "load_ensemble", "load_spec", "retrain_best", "run_sweep"]
