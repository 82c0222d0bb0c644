"""Builds the Ray Tune search algorithm a spec asks for, through its `SEARCHERS` entry."""
from __future__ import annotations

from typing import Any

from ray.tune.search import SearchAlgorithm, Searcher

from orchestrator.extensions.searchers import SEARCHERS
from orchestrator.spec import Spec


def build_search_algorithm(spec: Spec, param_space: dict[str, Any]) -> SearchAlgorithm | Searcher:
    """The searcher of `search.method` over the compiled `param_space` (the entry's builder
    module is imported now: scikit-optimize only for bayes)."""
    return SEARCHERS[spec.search.method].build(spec, param_space)
