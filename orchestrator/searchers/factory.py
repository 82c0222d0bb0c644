"""Builds the Ray Tune search algorithm a spec asks for: grid, random (seeded) or bayes."""
from __future__ import annotations

from typing import Any

from ray.tune.search import SearchAlgorithm, Searcher
from ray.tune.search.basic_variant import BasicVariantGenerator

from orchestrator.spec import Spec


def build_search_algorithm(spec: Spec, param_space: dict[str, Any]) -> SearchAlgorithm | Searcher:
    """Grid and random use Ray's variant generator over the compiled `param_space` (grid
    points from `tune.grid_search`); bayes uses our scikit-optimize searcher."""
    settings = spec.search
    if settings.method == "bayes":
        from orchestrator.searchers.skopt_search import build_skopt_searcher

        return build_skopt_searcher(param_space, spec.metric, spec.mode, dict(settings.bayes),
                                    settings.seed, settings.max_concurrent)
    return BasicVariantGenerator(max_concurrent=settings.max_concurrent,
                                 random_state=settings.seed)
