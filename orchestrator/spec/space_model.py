"""The search space as a typed tree, parsed from the spec's `space:` mapping.

One node type per distribution of design.md: uniform, loguniform, quniform, randint,
lograndint (integer bounds inclusive), choice (values or conditional branches), grid,
constants and nested mappings. Parsing validates bounds and names each problem's key path.
Part of `spec` (it is what parsing a spec produces); `orchestrator.space` compiles it for Ray.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

from orchestrator.spec.branch import BRANCH_KEY  # the trial config names the chosen branch under it
from orchestrator.spec.numbers import MAX_INT_BOUND, as_number, is_finite_number
from orchestrator.spec.suggest import did_you_mean, excerpt
from orchestrator.spec.yaml_source import KeyPath, SourceMap, format_path



@dataclass(frozen=True)
class FloatParam:
    low: float
    high: float
    log: bool = False
    q: float | None = None


@dataclass(frozen=True)
class IntParam:
    low: int   # inclusive
    high: int  # inclusive
    log: bool = False


@dataclass(frozen=True)
class Categorical:
    values: tuple[Any, ...]
    grid: bool = False  # `grid:` values are enumerated by grid search


@dataclass(frozen=True)
class Constant:
    value: Any


@dataclass(frozen=True)
class Nested:
    children: dict[str, "SpaceNode"] = field(default_factory=dict)


@dataclass(frozen=True)
class Conditional:
    """A choice among named branches, each with its own sub-space."""

    branches: dict[str, Nested]


SpaceNode = Union[FloatParam, IntParam, Categorical, Constant, Nested, Conditional]

# The distribution grammar, which the parser checks and `hpo schema` describes:
# ranges take a list of these arguments; value lists a non-empty list of values.
RANGE_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"), "loguniform": ("low", "high"), "quniform": ("low", "high", "q"),
    "randint": ("low", "high"), "lograndint": ("low", "high"),
}
INTEGER_RANGES = ("randint", "lograndint")  # both bounds included
VALUE_LISTS = ("choice", "grid")            # `choice:` also takes a mapping of branches
DISTRIBUTIONS = (*RANGE_ARGUMENTS, *VALUE_LISTS)
# Ray Tune spellings a user may bring along, and what to write here instead.
RAY_SPELLINGS = {"qrandint": "randint", "qloguniform": "loguniform", "sample_from": "choice",
                 "randn": "uniform", "qrandn": "quniform"}


# Mappings with one of these as their only key are not data to Ray Tune's variant generator:
# it runs `{eval: "..."}` as Python and expands `{grid_search: [...]}`, wherever they sit in a
# trial config. A spec holds plain values, so neither may appear in `config:` or `space:`.
RAY_DIRECTIVES = {
    "eval": "a mapping whose only key is 'eval' is Python code to Ray Tune (it would run it); "
            "a spec holds plain values",
    "grid_search": "a mapping whose only key is 'grid_search' is expanded by Ray Tune; "
                   "write {grid: [values]} as the parameter instead",
}


def ray_directive_in(value: Any, path: KeyPath) -> KeyPath | None:
    """The path of the first mapping inside `value` (at `path`) that Ray Tune would act on
    rather than pass along, or None."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in RAY_DIRECTIVES:
            return path + (next(iter(value)),)
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = ray_directive_in(item, path + (key,))
        if found is not None:
            return found
    return None


def _same_value(a: Any, b: Any) -> bool:
    """Equal as choice values: `1 == 1.0`, but `true` is not `1` and `false` is not `0`."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


class SpaceParser:
    """Parses a raw `space:` mapping into `Nested`, raising located SpecErrors.

    Problems with a distribution's arguments name the parameter (`space.model.choice.svc.C:
    low must be < high`), on the line of the offending argument; problems inside a conditional
    choice name the branch path (`space.model.choice.svc.name: ...`)."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source

    def parse(self, raw: Any, path: KeyPath) -> Nested:
        """The space at `path` (the spec's `space:`): a mapping of parameter names."""
        if raw is None:
            return Nested({})
        if not isinstance(raw, dict):
            raise self.source.error(path, f"must be a mapping of parameter names, got {type(raw).__name__}")
        return self._nested(raw, path)

    def _nested(self, raw: dict, path: KeyPath) -> Nested:
        return Nested({k: self._node(v, path + (k,)) for k, v in raw.items()})

    def refuse_ray_directives(self, value: Any, path: KeyPath) -> None:
        """No `{eval: ...}` or `{grid_search: ...}` anywhere in `value` (see RAY_DIRECTIVES)."""
        found = ray_directive_in(value, path)
        if found is not None:
            raise self.source.error(found, RAY_DIRECTIVES[found[-1]])

    def _node(self, raw: Any, path: KeyPath) -> SpaceNode:
        if not isinstance(raw, dict):
            self.refuse_ray_directives(raw, path)
            return Constant(raw)
        keys = list(raw)
        if len(keys) == 1 and keys[0] in RAY_DIRECTIVES:
            self.refuse_ray_directives(raw, path)
        dist_keys = [k for k in keys if k in DISTRIBUTIONS]
        if dist_keys:
            if len(keys) > 1:
                others = ", ".join(format_path((k,)) for k in keys if k != dist_keys[0])
                raise self.source.error(path, f"'{dist_keys[0]}' must be the only key of a "
                                        f"distribution (also found: {others})")
            return self._distribution(dist_keys[0], raw[dist_keys[0]], path)
        if len(keys) == 1 and isinstance(raw[keys[0]], (list, dict)):
            self._check_not_misspelt(keys[0], path)
        return self._nested(raw, path)

    def _check_not_misspelt(self, key: str, path: KeyPath) -> None:
        """A lone key holding a list or mapping that looks like a distribution is one, misspelt."""
        hint = did_you_mean(key, DISTRIBUTIONS)
        if key in RAY_SPELLINGS:
            hint = f" (Ray Tune's {key}; write {RAY_SPELLINGS[key]!r} here)"
        if hint:
            raise self.source.error(path + (key,), f"unknown distribution {excerpt(key)}{hint}")

    def _distribution(self, kind: str, args: Any, path: KeyPath) -> SpaceNode:
        """`path` is the parameter's; `path + (kind,)` locates the arguments."""
        at = path + (kind,)
        if kind == "choice" and isinstance(args, dict):
            return self._conditional(args, path)
        if kind in VALUE_LISTS:
            return Categorical(self._values(kind, args, path), grid=kind == "grid")
        arity = len(RANGE_ARGUMENTS[kind])
        form = f"[{', '.join(RANGE_ARGUMENTS[kind])}]"
        if not isinstance(args, list) or len(args) != arity:
            raise self.source.error(path, f"{kind} takes a list {form}", at=at)
        args = [as_number(a) for a in args]
        for i, a in enumerate(args):
            if not is_finite_number(a):
                raise self.source.error(path, f"{kind} bound must be a finite number, got {excerpt(a)}", at=at + (i,))
        if kind in INTEGER_RANGES:
            return self._integers(kind, args, path, at)
        low, high = float(args[0]), float(args[1])
        if not low < high:
            raise self.source.error(path, "low must be < high", at=at)
        if not math.isfinite(high - low):
            raise self.source.error(path, f"{kind} range [{low:g}, {high:g}] is too wide", at=at)
        if kind == "loguniform":
            if low <= 0:
                raise self.source.error(path, "loguniform needs low > 0", at=at)
            return FloatParam(low, high, log=True)
        if kind == "quniform":
            return FloatParam(low, high, q=self._quantum(float(args[2]), low, high, path, at))
        return FloatParam(low, high)

    def _integers(self, kind: str, args: list, path: KeyPath, at: KeyPath) -> IntParam:
        for i, a in enumerate(args):
            if isinstance(a, float) and not a.is_integer():
                raise self.source.error(path, f"{kind} bounds must be integers, got {excerpt(a)}", at=at + (i,))
            if abs(int(a)) > MAX_INT_BOUND:
                raise self.source.error(path, f"{kind} bounds must be within +-2**53, got {excerpt(a)}",
                                        at=at + (i,))
        low, high = int(args[0]), int(args[1])
        if low > high:
            raise self.source.error(path, "low must be <= high (both are included)", at=at)
        if kind == "lograndint" and low < 1:
            raise self.source.error(path, "lograndint needs low >= 1", at=at)
        return IntParam(low, high, log=kind == "lograndint")

    def _quantum(self, q: float, low: float, high: float, path: KeyPath, at: KeyPath) -> float:
        """quniform's q: positive, at most the range, and dividing both bounds (as Ray requires)."""
        if q <= 0:
            raise self.source.error(path, "quniform q must be > 0", at=at + (2,))
        if q > high - low:
            raise self.source.error(path, "quniform q must not exceed high - low", at=at + (2,))
        for bound in (low, high):
            steps = bound / q
            if not math.isfinite(steps) or not math.isclose(steps, round(steps)):
                raise self.source.error(path, f"quniform bounds must be multiples of q={q:g}; "
                                        f"{bound:g} is not", at=at)
        return q

    def _values(self, kind: str, args: Any, path: KeyPath) -> tuple[Any, ...]:
        at = path + (kind,)
        if not isinstance(args, list) or not args:
            raise self.source.error(path, f"{kind} needs a non-empty list of values", at=at)
        hashed: set[tuple[bool, Any]] = set()  # linear time: thousands of values stay fast
        unhashable: list[Any] = []
        for i, v in enumerate(args):
            try:
                key = (isinstance(v, bool), v)
                twice = key in hashed
                hashed.add(key)
            except TypeError:  # lists and mappings as values
                twice = any(_same_value(v, seen) for seen in unhashable)
                unhashable.append(v)
            if twice:
                raise self.source.error(path, f"{kind} has the value {excerpt(v)} twice", at=at + (i,))
        self.refuse_ray_directives(args, at)
        return tuple(args)

    def _conditional(self, args: dict, path: KeyPath) -> Conditional:
        at = path + ("choice",)
        if not args:
            raise self.source.error(path, "a conditional choice needs at least one branch", at=at)
        branches: dict[str, Nested] = {}
        for name, sub in args.items():
            bpath = at + (name,)
            if sub is None:
                sub = {}
            if not isinstance(sub, dict):
                raise self.source.error(bpath, "a branch must be a mapping of its parameters "
                                        "(or empty)")
            if BRANCH_KEY in sub:
                raise self.source.error(bpath + (BRANCH_KEY,), f"'{BRANCH_KEY}' is reserved: it holds "
                                        "the chosen branch in the trial config")
            branches[name] = self._nested(sub, bpath)
        return Conditional(branches)
