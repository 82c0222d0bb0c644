"""The search space as a typed tree, parsed from the spec's `space:` mapping.

One node type per distribution of design.md: uniform, loguniform, quniform, randint,
lograndint (integer bounds inclusive), choice (values or conditional branches), grid,
constants and nested mappings. Parsing validates bounds and names each problem's key path.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

from orchestrator.spec.suggest import did_you_mean
from orchestrator.spec.yaml_source import KeyPath, SourceMap

BRANCH_KEY = "name"  # the trial config names the chosen branch under this key


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

DISTRIBUTIONS = ("uniform", "loguniform", "quniform", "randint", "lograndint", "choice", "grid")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _as_number(x: Any) -> Any:
    """YAML 1.1 reads `1e-3` as a string; accept it as the number the user meant."""
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return x
    return x


class SpaceParser:
    """Parses a raw `space:` mapping into `Nested`, raising located SpecErrors."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source

    def parse(self, raw: Any, path: KeyPath) -> Nested:
        if raw is None:
            return Nested({})
        if not isinstance(raw, dict):
            raise self.source.error(path, f"must be a mapping of parameter names, got {type(raw).__name__}")
        return self._nested(raw, path)

    def _nested(self, raw: dict, path: KeyPath) -> Nested:
        return Nested({k: self._node(v, path + (k,)) for k, v in raw.items()})

    def _node(self, raw: Any, path: KeyPath) -> SpaceNode:
        if isinstance(raw, dict):
            keys = list(raw)
            dist_keys = [k for k in keys if k in DISTRIBUTIONS]
            if dist_keys:
                if len(keys) > 1:
                    others = ", ".join(k for k in keys if k != dist_keys[0])
                    raise self.source.error(path, f"'{dist_keys[0]}' must be the only key of a "
                                            f"distribution (also found: {others})")
                return self._distribution(dist_keys[0], raw[dist_keys[0]], path + (dist_keys[0],))
            if len(keys) == 1 and isinstance(raw[keys[0]], list):
                hint = did_you_mean(keys[0], DISTRIBUTIONS)
                if hint:
                    raise self.source.error(path + (keys[0],), f"unknown distribution {keys[0]!r}{hint}")
            return self._nested(raw, path)
        return Constant(raw)

    def _distribution(self, kind: str, args: Any, path: KeyPath) -> SpaceNode:
        if kind == "choice":
            if isinstance(args, dict):
                return self._conditional(args, path)
            return Categorical(self._values(args, path), grid=False)
        if kind == "grid":
            return Categorical(self._values(args, path), grid=True)
        arity = 3 if kind == "quniform" else 2
        form = "[low, high, q]" if arity == 3 else "[low, high]"
        if not isinstance(args, list) or len(args) != arity:
            raise self.source.error(path, f"{kind} takes a list {form}")
        args = [_as_number(a) for a in args]
        for i, a in enumerate(args):
            if not _is_number(a):
                raise self.source.error(path + (i,), f"{kind} bound must be a finite number, got {a!r}")
        low, high = args[0], args[1]
        if kind in ("randint", "lograndint"):
            for i, a in enumerate(args):
                if float(a) != int(a):
                    raise self.source.error(path + (i,), f"{kind} bounds must be integers, got {a!r}")
            low, high = int(low), int(high)
            if low > high:
                raise self.source.error(path, "low must be <= high")
            if kind == "lograndint" and low < 1:
                raise self.source.error(path, "lograndint needs low >= 1")
            return IntParam(low, high, log=kind == "lograndint")
        if not low < high:
            raise self.source.error(path, "low must be < high")
        if kind == "loguniform":
            if low <= 0:
                raise self.source.error(path, "loguniform needs low > 0")
            return FloatParam(float(low), float(high), log=True)
        if kind == "quniform":
            q = float(args[2])
            if q <= 0:
                raise self.source.error(path + (2,), "q must be > 0")
            if q > high - low:
                raise self.source.error(path + (2,), "q must not exceed high - low")
            return FloatParam(float(low), float(high), q=q)
        return FloatParam(float(low), float(high))

    def _values(self, args: Any, path: KeyPath) -> tuple[Any, ...]:
        if not isinstance(args, list) or not args:
            raise self.source.error(path, "needs a non-empty list of values")
        seen: list[Any] = []
        for i, v in enumerate(args):
            if v in seen:
                raise self.source.error(path + (i,), f"duplicate value {v!r}")
            seen.append(v)
        return tuple(args)

    def _conditional(self, args: dict, path: KeyPath) -> Conditional:
        if not args:
            raise self.source.error(path, "needs at least one branch")
        branches: dict[str, Nested] = {}
        for name, sub in args.items():
            bpath = path + (name,)
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
