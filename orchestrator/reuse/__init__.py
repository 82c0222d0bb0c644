"""Reusing a finished sweep's work: ensembles of its top trials (`hpo ensemble`, `orchestrator.load_ensemble`)."""
from __future__ import annotations

from orchestrator.reuse.ensemble import METHODS, Ensemble, EnsembleResult, build_ensemble, load_ensemble

__all__ = ["METHODS", "Ensemble", "EnsembleResult", "build_ensemble", "load_ensemble"]
