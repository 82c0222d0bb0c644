"""Compile the typed space into Ray Tune's `param_space`, and count grid points.

Conditional choices become `tune.choice` (or `tune.grid_search` under grid search) over
dicts `{"name": branch, **branch_params}`: Ray resolves the nested domains, so a trial's
config holds the chosen branch's name and only that branch's parameters.
"""
from __future__ import annotations

from typing import Any

from orchestrator.spec.space_model import (
    BRANCH_KEY, Categorical, Conditional, Constant, FloatParam, IntParam, Nested, SpaceNode,
)


def to_param_space(space: Nested, *, grid: bool = False) -> dict[str, Any]:
    """Ray Tune param_space. With `grid=True`, `grid:` values and conditional branches are
    enumerated (`tune.grid_search`); `choice:` values and ranges are sampled, as in Ray Tune."""
    return {name: _compile(node, grid) for name, node in space.children.items()}


def _compile(node: SpaceNode, grid: bool) -> Any:
    from ray import tune  # imported on first use: reading and validating a spec stays fast

    if isinstance(node, FloatParam):
        if node.q is not None:
            return tune.qloguniform(node.low, node.high, node.q) if node.log else tune.quniform(
                node.low, node.high, node.q)
        return tune.loguniform(node.low, node.high) if node.log else tune.uniform(node.low, node.high)
    if isinstance(node, IntParam):  # Ray's upper bound is exclusive; ours is inclusive
        return tune.lograndint(node.low, node.high + 1) if node.log else tune.randint(node.low, node.high + 1)
    if isinstance(node, Categorical):
        values = list(node.values)
        return tune.grid_search(values) if grid and node.grid else tune.choice(values)
    if isinstance(node, Conditional):
        options = [{BRANCH_KEY: name, **to_param_space(sub, grid=grid)} for name, sub in node.branches.items()]
        return tune.grid_search(options) if grid else tune.choice(options)
    if isinstance(node, Nested):
        return to_param_space(node, grid=grid)
    if isinstance(node, Constant):
        return node.value
    raise TypeError(f"unknown space node {node!r}")


def grid_size(node: SpaceNode) -> int:
    """Grid points (`grid:` values x branches): products inside a mapping, sums over branches;
    counted, never materialised."""
    if isinstance(node, Categorical):
        return len(node.values) if node.grid else 1
    if isinstance(node, Conditional):
        return sum(grid_size(b) for b in node.branches.values())
    if isinstance(node, Nested):
        total = 1
        for child in node.children.values():
            total *= grid_size(child)
        return total
    return 1


def count_sampled(node: SpaceNode) -> int:
    """Parameters that are sampled (ranges and `choice:` values; not `grid:` values, branches or
    constants), over all branches."""
    if isinstance(node, (FloatParam, IntParam)):
        return 1
    if isinstance(node, Categorical):
        return 0 if node.grid else 1
    if isinstance(node, Conditional):
        return sum(count_sampled(b) for b in node.branches.values())
    if isinstance(node, Nested):
        return sum(count_sampled(c) for c in node.children.values())
    return 0


def describe(space: Nested, indent: str = "  ") -> list[str]:
    """Human-readable lines, one per parameter, for `hpo validate`."""
    lines: list[str] = []

    def walk(node: SpaceNode, label: str, depth: int) -> None:
        pad = indent * depth
        if isinstance(node, FloatParam):
            kind = "loguniform" if node.log else ("quniform" if node.q else "uniform")
            extra = f", q={node.q:g}" if node.q else ""
            lines.append(f"{pad}{label}: {kind} [{node.low:g}, {node.high:g}{extra}]")
        elif isinstance(node, IntParam):
            lines.append(f"{pad}{label}: {'lograndint' if node.log else 'randint'} [{node.low}, {node.high}]")
        elif isinstance(node, Categorical):
            lines.append(f"{pad}{label}: {'grid' if node.grid else 'choice'} {list(node.values)}")
        elif isinstance(node, Constant):
            lines.append(f"{pad}{label}: constant {node.value!r}")
        elif isinstance(node, Conditional):
            lines.append(f"{pad}{label}: one of {len(node.branches)} branches")
            for name, sub in node.branches.items():
                walk(sub, f"[{name}]", depth + 1)
        elif isinstance(node, Nested):
            if label:
                lines.append(f"{pad}{label}:" + ("" if node.children else " {}"))
            for name, child in node.children.items():
                walk(child, name, depth + (1 if label else 0))

    walk(space, "", 0)
    return lines
