"""`convert_search_space`: a Ray search space as a flat `{"a/b": skopt dimension}` dict.

The static method every Ray searcher has, as Ray's removed `SkOptSearch` had it: Ray
quantization is dropped, randint's exclusive upper bound becomes skopt's inclusive one, and
`join=True` keeps the space's constants. `SkOptSearch(space=...)` takes the result back,
"a/b" names nested again.
"""
from __future__ import annotations

import copy
from typing import Any

from ray.tune.search.sample import Categorical, Domain, Float, Integer, LogUniform, Normal, Quantized
from ray.tune.search.variant_generator import parse_spec_vars
from skopt.space import Categorical as SkCategorical
from skopt.space import Dimension
from skopt.space import Integer as SkInteger
from skopt.space import Real as SkReal


def convert_search_space(spec: dict, join: bool = False) -> dict[str, Any]:
    """`{"a/b": skopt Dimension}` for every Ray domain in `spec`; with `join`, the constants too."""
    _, domain_vars, grid_vars = parse_spec_vars(spec)
    if grid_vars:
        raise ValueError("Grid search parameters cannot be converted to a scikit-optimize search space")
    space: dict[str, Any] = {"/".join(map(str, path)): _dimension(path, domain) for path, domain in domain_vars}
    if not join:
        return space
    joined = copy.deepcopy(spec)
    for path, _ in reversed(domain_vars):  # later list items first: deleting shifts the ones after
        parent = joined
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    joined.update(space)
    return joined


def _dimension(path: tuple, domain: Domain) -> Dimension:
    name = "/".join(map(str, path))
    sampler = domain.get_sampler()
    if isinstance(sampler, Quantized):
        sampler = sampler.get_sampler()
    prior = "log-uniform" if isinstance(sampler, LogUniform) else "uniform"
    if isinstance(sampler, Normal):
        raise ValueError(f"{name}: normal distributions (tune.randn) have no bounds for scikit-optimize")
    if isinstance(domain, Float):
        return SkReal(domain.lower, domain.upper, prior=prior, name=name)
    if isinstance(domain, Integer):
        return SkInteger(domain.lower, domain.upper - 1, prior=prior, name=name)
    if isinstance(domain, Categorical):
        if any(isinstance(c, (dict, list)) for c in domain.categories):
            raise ValueError(f"{name}: a choice of dicts or lists has no scikit-optimize dimension; "
                             "pass the Ray space to SkOptSearch itself (it searches branches)")
        return SkCategorical(domain.categories, name=name)
    raise ValueError(f"{name}: {type(domain).__name__} domains have no scikit-optimize dimension")
