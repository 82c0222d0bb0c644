"""Ray Tune search spaces as scikit-optimize dimensions, with conditional branches kept apart.

A Ray `param_space` (nested dicts, Ray domains, constants) compiles into a tree of nodes.
A `tune.choice` whose categories are dicts is a *branching* (the project's conditional
choice, e.g. one dict per algorithm); every other domain is a *leaf* with one skopt
dimension. The tree enumerates *arms*: one per combination of branches, each with only the
dimensions active in it, so that each arm can get its own surrogate model. `flat=True`
instead gives one arm over every leaf plus one categorical per branching (the classic
flattening), kept for comparison. Values cross the skopt boundary as plain Python types.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
from ray.tune.search.sample import Categorical, Domain, Float, Function, Integer, LogUniform, Normal, Quantized
from skopt.space import Categorical as SkCategorical
from skopt.space import Dimension
from skopt.space import Integer as SkInteger
from skopt.space import Real as SkReal
from skopt.space import check_dimension

from orchestrator.spec.branch import BRANCH_KEY

#: Arms beyond this many (a product of several branchings) fall back to one flat arm.
MAX_ARMS = 32

Path = tuple[Union[str, int], ...]


def path_name(path: Path) -> str:
    """`model/svc/C`: how errors and ids name a parameter."""
    return "/".join(str(p) for p in path) or "<root>"


def to_python(value: Any) -> Any:
    """numpy scalars to the builtin types `json.dumps` accepts."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Param:
    """One searchable parameter: its skopt dimension and how skopt values map to config values.

    kind: `real` (float), `int`, `grid` (index k on a q-grid, value k*q), `cat` (index into
    `categories`), `native` (a dimension given in skopt form, values as skopt returns them).
    """

    id: str
    kind: str
    dimension: Dimension
    q: float | None = None
    integral: bool = False
    categories: list[Any] = field(default_factory=list)

    def decode(self, x: Any) -> Any:
        """skopt value -> config value (builtin Python types only)."""
        x = to_python(x)
        if self.kind == "real":
            value = float(x)
            if self.q:
                value = _round_to(value, self.q, self.dimension.low, self.dimension.high)
            return value
        if self.kind == "int":
            return int(x)
        if self.kind == "grid":
            value = int(x) * self.q
            return int(round(value)) if self.integral else _clean_float(value)
        if self.kind == "cat":
            return copy.deepcopy(self.categories[int(x)])
        return x

    def encode(self, value: Any) -> Any:
        """Config value -> skopt value; ValueError if it is outside the dimension."""
        if self.kind == "real":
            x: Any = float(value)
        elif self.kind == "int":
            x = int(value)
        elif self.kind == "grid":
            x = int(round(float(value) / self.q))
        elif self.kind == "cat":
            matches = [i for i, c in enumerate(self.categories) if c == value]
            if not matches:
                raise ValueError(f"{self.id}: {value!r} is not one of {self.categories!r}")
            x = matches[0]
        else:
            x = to_python(value)
        if x not in self.dimension:
            raise ValueError(f"{self.id}: {value!r} is outside {self.dimension}")
        return x


def _clean_float(value: float) -> float:
    """Drop float noise from k*q products (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.12g}")


def _round_to(value: float, q: float, low: float, high: float) -> float:
    """Nearest multiple of q inside [low, high]."""
    k = round(value / q)
    k = min(max(k, math.ceil(low / q - 1e-9)), math.floor(high / q + 1e-9))
    return _clean_float(k * q)


# ---- tree -----------------------------------------------------------------------------


@dataclass
class Const:
    """A fixed value copied into every config."""

    value: Any


@dataclass
class Leaf:
    """A searchable parameter at this position."""

    param: Param


@dataclass
class Mapping:
    """Nested parameters (a dict, or a list when `is_list`)."""

    children: dict[Any, "Node"]
    is_list: bool = False


@dataclass
class Branching:
    """A conditional choice: exactly one branch (a sub-space) is active per config."""

    id: str
    labels: list[str]
    branches: list["Node"]


Node = Union[Const, Leaf, Mapping, Branching]


@dataclass(frozen=True)
class Coordinate:
    """One axis of an arm's skopt space: a parameter, or (flat mode) a branching's selector."""

    id: str
    dimension: Dimension
    selects: str | None = None  # the Branching id this axis picks a branch for


@dataclass
class Arm:
    """One combination of branches and the dimensions active in it."""

    choices: dict[str, int]
    coordinates: list[Coordinate]

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.choices.items())) or "all"


class CompiledSpace:
    """A search space compiled for skopt: decode (arm, x) into configs, encode configs back."""

    def __init__(self, root: Node, flat: bool = False) -> None:
        self.root = root
        self.params: dict[str, Param] = {}
        self.branchings: dict[str, Branching] = {}
        self._index(root)
        layouts = _layouts(root)
        self.flat = flat or not self.branchings or len(layouts) > MAX_ARMS
        if self.flat:
            coords = [Coordinate(p.id, p.dimension) for p in self.params.values()]
            coords += [
                Coordinate(b.id + "#branch", SkCategorical(list(range(len(b.branches)))), selects=b.id)
                for b in self.branchings.values()
                if len(b.branches) > 1
            ]
            self.arms = [Arm({}, coords)]
        else:
            self.arms = [
                Arm(dict(choices), [Coordinate(i, self.params[i].dimension) for i in leaf_ids])
                for choices, leaf_ids in layouts
            ]

    def _index(self, node: Node) -> None:
        if isinstance(node, Leaf):
            self.params[node.param.id] = node.param
        elif isinstance(node, Mapping):
            for child in node.children.values():
                self._index(child)
        elif isinstance(node, Branching):
            self.branchings[node.id] = node
            for branch in node.branches:
                self._index(branch)

    @property
    def n_dims(self) -> int:
        return len(self.params)

    def config(self, arm_index: int, x: list[Any]) -> dict:
        """The trial config for point `x` of arm `arm_index`: active parameters only."""
        arm = self.arms[arm_index]
        choices = {b: 0 for b in self.branchings}
        choices.update(arm.choices)
        values: dict[str, Any] = {}
        for coord, value in zip(arm.coordinates, x):
            if coord.selects is not None:
                choices[coord.selects] = int(to_python(value))
            else:
                values[coord.id] = self.params[coord.id].decode(value)
        return _build(self.root, values, choices)

    def encode(self, config: dict) -> tuple[int, list[Any]]:
        """(arm, x) of a full config, e.g. one of `points_to_evaluate`; ValueError if it does not fit."""
        values: dict[str, Any] = {}
        choices: dict[str, int] = {}
        _read(self.root, config, (), values, choices)
        for index, arm in enumerate(self.arms):
            if all(choices.get(k) == v for k, v in arm.choices.items()):
                x = []
                for coord in arm.coordinates:
                    if coord.selects is not None:
                        x.append(choices.get(coord.selects, 0))
                    elif coord.id in values:
                        x.append(values[coord.id])
                    else:  # flat mode: a parameter of a branch not taken
                        x.append(coord.dimension.rvs(random_state=0)[0])
                return index, [to_python(v) for v in x]
        raise ValueError(f"config {config!r} matches no branch of the search space")


def _layouts(node: Node) -> list[tuple[tuple[tuple[str, int], ...], tuple[str, ...]]]:
    """Every (branch choices, active leaf ids) combination under `node`."""
    if isinstance(node, Const):
        return [((), ())]
    if isinstance(node, Leaf):
        return [((), (node.param.id,))]
    if isinstance(node, Mapping):
        out: list = [((), ())]
        for child in node.children.values():
            out = [(c1 + c2, l1 + l2) for (c1, l1), (c2, l2) in itertools.product(out, _layouts(child))]
            if len(out) > MAX_ARMS:
                return out  # too many; the caller falls back to flat
        return out
    return [
        (((node.id, i),) + choices, leaves)
        for i, branch in enumerate(node.branches)
        for choices, leaves in _layouts(branch)
    ]


def _build(node: Node, values: dict[str, Any], choices: dict[str, int]) -> Any:
    if isinstance(node, Const):
        return copy.deepcopy(node.value)
    if isinstance(node, Leaf):
        return values[node.param.id]
    if isinstance(node, Mapping):
        built = {k: _build(child, values, choices) for k, child in node.children.items()}
        return list(built.values()) if node.is_list else built
    return _build(node.branches[choices[node.id]], values, choices)


def _read(node: Node, value: Any, path: Path, values: dict[str, Any], choices: dict[str, int]) -> None:
    if isinstance(node, Leaf):
        values[node.param.id] = node.param.encode(value)
    elif isinstance(node, Mapping):
        for key, child in node.children.items():
            try:
                sub = value[key]
            except (KeyError, IndexError, TypeError):
                if isinstance(child, Const):
                    continue
                raise ValueError(f"{path_name(path + (key,))}: missing from the given config") from None
            _read(child, sub, path + (key,), values, choices)
    elif isinstance(node, Branching):
        index = _branch_of(node, value, path)
        choices[node.id] = index
        _read(node.branches[index], value, path, values, choices)


def _branch_of(node: Branching, value: Any, path: Path) -> int:
    """Which branch a config value took: by its `name`, else by its set of keys."""
    if isinstance(value, dict):
        if BRANCH_KEY in value and str(value[BRANCH_KEY]) in node.labels:
            return node.labels.index(str(value[BRANCH_KEY]))
        for i, branch in enumerate(node.branches):
            if isinstance(branch, Mapping) and set(branch.children) == set(value):
                return i
    raise ValueError(f"{path_name(path)}: {value!r} matches none of the branches {node.labels}")


# ---- conversion -----------------------------------------------------------------------


def compile_space(space: dict, *, skopt_style: bool = False, flat: bool = False) -> CompiledSpace:
    """Compile a Ray `param_space` (or the `space` argument) into a `CompiledSpace`.

    With `skopt_style` (the `space` argument of the removed Ray searcher), top-level skopt
    dimensions are read as such: see `_native_leaves`. Raises ValueError naming the parameter
    path for what cannot convert.
    """
    if not isinstance(space, dict):
        raise ValueError(f"search space must be a dict, got {type(space).__name__}")
    if skopt_style:
        space = _native_leaves(space)
    root = Mapping({k: _compile(v, (k,), (k,)) for k, v in space.items()})
    compiled = CompiledSpace(root, flat=flat)
    if not compiled.params and not compiled.branchings:
        raise ValueError("search space has nothing to search: no Ray domains in it")
    return compiled


def _native_leaves(space: dict) -> dict:
    """Top-level skopt Dimensions and `(low, high)` tuples as leaves, also next to Ray domains; lists
    too where the space has no Ray domain (next to one a list is a constant, as in a `param_space`).
    "a/b" names nest: `{"a/b": (0, 1)}` gives configs `{"a": {"b": ...}}`."""
    lists = not has_domain(space)
    nodes = {
        k: Leaf(Param(str(k), "native", check_dimension(v)))
        if isinstance(v, Dimension) or (isinstance(v, (tuple, list)) and (lists or isinstance(v, tuple))
                                        and not has_domain(v))
        else v
        for k, v in space.items()
    }
    return _nest(nodes)


def _nest(flat: dict) -> dict:
    """`{"a/b": v}` -> `{"a": {"b": v}}`, merging into dicts given under "a" (copied, never modified)."""
    out: dict = {}
    for key, value in flat.items():
        *parents, last = key.split("/") if isinstance(key, str) else [key]
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = dict(value) if isinstance(value, dict) else value
    return out


def _compile(value: Any, path: Path, id_path: Path) -> Node:
    """`path` is where the value sits in the config; `id_path` also names branches taken."""
    name = path_name(id_path)
    if isinstance(value, (Const, Leaf, Mapping, Branching)):  # compiled already (`_native_leaves`)
        return value
    if isinstance(value, Domain):
        return _compile_domain(value, path, id_path)
    if isinstance(value, dict):
        if "grid_search" in value and len(value) == 1:
            raise ValueError(f"{name}: grid_search cannot be searched by SkOptSearch; use tune.choice")
        return Mapping({k: _compile(v, path + (k,), id_path + (k,)) for k, v in value.items()})
    if isinstance(value, (list, tuple)) and any(has_domain(v) for v in value):
        return Mapping(
            {i: _compile(v, path + (i,), id_path + (i,)) for i, v in enumerate(value)}, is_list=True
        )
    return Const(value)


def has_domain(value: Any) -> bool:
    """Whether a Ray domain sits anywhere inside `value`."""
    if isinstance(value, Domain):
        return True
    if isinstance(value, dict):
        return any(has_domain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_domain(v) for v in value)
    return False


def _compile_domain(domain: Domain, path: Path, id_path: Path) -> Node:
    name = path_name(id_path)
    sampler = domain.get_sampler()
    q = None
    if isinstance(sampler, Quantized):
        q, sampler = sampler.q, sampler.get_sampler()
    if isinstance(sampler, Normal):
        raise ValueError(f"{name}: normal distributions (tune.randn) have no bounds; use uniform")
    log = isinstance(sampler, LogUniform)
    if isinstance(domain, Float):
        return Leaf(_float_param(name, float(domain.lower), float(domain.upper), q, log))
    if isinstance(domain, Integer):
        return _int_node(name, int(domain.lower), int(domain.upper), q, log)
    if isinstance(domain, Categorical):
        return _compile_categorical(domain.categories, path, id_path)
    if isinstance(domain, Function):
        raise ValueError(f"{name}: tune.sample_from cannot be converted for SkOptSearch")
    raise ValueError(f"{name}: {type(domain).__name__} domains cannot be converted for SkOptSearch")


def _float_param(name: str, low: float, high: float, q: float | None, log: bool) -> Param:
    if not low < high:
        raise ValueError(f"{name}: lower bound {low} must be < upper bound {high}")
    if q and not log:
        k_low, k_high = math.ceil(low / q - 1e-9), math.floor(high / q + 1e-9)
        if k_high < k_low:
            raise ValueError(f"{name}: no multiple of q={q} between {low} and {high}")
        return Param(name, "grid", SkInteger(k_low, k_high), q=q)
    prior = "log-uniform" if log else "uniform"
    return Param(name, "real", SkReal(low, high, prior=prior), q=q)


def _int_node(name: str, low: int, upper: int, q: float | None, log: bool) -> Node:
    """Ray's randint/lograndint exclude `upper`; qrandint with q > 1 includes it."""
    if q and q != 1:
        k_low, k_high = math.ceil(low / q), math.floor(upper / q)
        if k_high < k_low:
            raise ValueError(f"{name}: no multiple of q={q} between {low} and {upper}")
        if k_high == k_low:
            return Const(int(k_low * q))
        return Leaf(Param(name, "grid", SkInteger(k_low, k_high), q=q, integral=True))
    high = upper - 1
    if high < low:
        raise ValueError(f"{name}: empty integer range [{low}, {upper})")
    if high == low:
        return Const(low)
    return Leaf(Param(name, "int", SkInteger(low, high, prior="log-uniform" if log else "uniform")))


def _compile_categorical(categories: list[Any], path: Path, id_path: Path) -> Node:
    name = path_name(id_path)
    if not categories:
        raise ValueError(f"{name}: tune.choice needs at least one category")
    if all(isinstance(c, dict) for c in categories):
        labels = [str(c.get(BRANCH_KEY, i)) for i, c in enumerate(categories)]
        if len(set(labels)) != len(labels):
            labels = [str(i) for i in range(len(categories))]
        branches = [_compile(c, path, id_path + (label,)) for c, label in zip(categories, labels)]
        return Branching(name, labels, branches)
    if any(has_domain(c) for c in categories):
        raise ValueError(f"{name}: tune.choice categories holding domains must all be dicts (branches)")
    if len(categories) == 1:
        return Const(categories[0])
    return Leaf(Param(name, "cat", SkCategorical(list(range(len(categories)))), categories=list(categories)))
