"""Grid and random search: Ray's variant generator over the compiled `param_space` (grid points
come from `tune.grid_search` there), seeded by `search.seed`, skipping what warm-start sweeps evaluated."""
from __future__ import annotations

from typing import Any

from ray.tune.search.basic_variant import BasicVariantGenerator

from orchestrator.searchers.repeat_skipping import RepeatSkippingGenerator
from orchestrator.spec import Spec


def build_variant_generator(spec: Spec, param_space: dict[str, Any]) -> BasicVariantGenerator:
    """The builder of SEARCHERS["grid"] and SEARCHERS["random"]."""
    return RepeatSkippingGenerator(spec.space, grid=spec.search.method == "grid",
                                   max_concurrent=spec.search.max_concurrent, random_state=spec.search.seed)
