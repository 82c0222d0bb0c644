"""Whether an earlier trial's config fits the current search space (warm start after the space was edited):
each parameter is looked up by its path, a value outside a narrowed range or in a removed branch does not fit.
`repeat_key` says when two fitted configs are the same point (random search) or grid point (grid search)."""
from __future__ import annotations

import json
import math
from typing import Any, Mapping

from orchestrator.spec.space_model import (
    BRANCH_KEY, Categorical, Conditional, Constant, FloatParam, IntParam, Nested, SpaceNode,
)

OUTSIDE, REMOVED_BRANCH, MISSING = "outside the new ranges", "in removed branches", "missing a parameter"


class DoesNotFit(Exception):
    """Why a config does not fit the space: one of OUTSIDE, REMOVED_BRANCH, MISSING."""


def fit_config(space: Nested, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config's values of the space's parameters, by path, as a trial of this space would hold them (constants
    of the space included); raises `DoesNotFit` with the reason."""
    return {name: _fit(node, config.get(name, _ABSENT)) for name, node in space.children.items()}


_ABSENT = object()


def _fit(node: SpaceNode, value: Any) -> Any:
    if isinstance(node, Constant):
        if value is not _ABSENT and value != node.value:
            raise DoesNotFit(OUTSIDE)
        return node.value
    if value is _ABSENT:
        raise DoesNotFit(MISSING)
    if isinstance(node, Nested):
        if not isinstance(value, Mapping):
            raise DoesNotFit(OUTSIDE)
        return fit_config(node, value)
    if isinstance(node, Conditional):
        branch = value.get(BRANCH_KEY) if isinstance(value, Mapping) else None
        if branch not in node.branches:
            raise DoesNotFit(REMOVED_BRANCH)
        return {BRANCH_KEY: branch, **fit_config(node.branches[branch], value)}
    if isinstance(node, Categorical):
        if value not in node.values:
            raise DoesNotFit(OUTSIDE)
        return value
    if isinstance(node, (FloatParam, IntParam)):
        return _in_range(node, value)
    raise TypeError(f"unknown space node {node!r}")


def _in_range(node: FloatParam | IntParam, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DoesNotFit(OUTSIDE)
    if isinstance(node, IntParam) and value != int(value):
        raise DoesNotFit(OUTSIDE)
    if not node.low <= value <= node.high:
        raise DoesNotFit(OUTSIDE)
    return int(value) if isinstance(node, IntParam) else float(value)


def repeat_key(space: Nested, fitted: Mapping[str, Any], *, grid: bool) -> str:
    """What makes a fitted config a repeat, as one string: every value (random search), or only the values grid
    search enumerates, `grid:` values and conditional branches by path (grid search: the grid point it falls on)."""
    return json.dumps(_grid_point(space, fitted) if grid else fitted, sort_keys=True, default=repr)


def _grid_point(space: Nested, fitted: Mapping[str, Any]) -> dict[str, Any]:
    point: dict[str, Any] = {}
    for name, node in space.children.items():
        value = fitted[name]
        if isinstance(node, Categorical) and node.grid:
            point[name] = value
        elif isinstance(node, Conditional):
            point[name] = {BRANCH_KEY: value[BRANCH_KEY], **_grid_point(node.branches[value[BRANCH_KEY]], value)}
        elif isinstance(node, Nested):
            point[name] = _grid_point(node, value)
    return point
