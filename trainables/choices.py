"""Reading a named option from a trial config: a bare name, or a conditional-choice mapping.

A spec gives an option either as a value (`optimizer: adam`) or, through a conditional
choice, as `{"name": "sgd", "momentum": 0.9}`; both read as `("sgd", {"momentum": 0.9})`.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def named(value: str | Mapping[str, Any] | None, default: str, key: str,
          allowed: Collection[str], params: Collection[str] = ()) -> tuple[str, dict[str, Any]]:
    """(name, parameters) of option `key`; unknown names and parameters raise ValueError."""
    if isinstance(value, Mapping):
        name = value.get("name", default)
        given = {k: v for k, v in value.items() if k != "name"}
    else:
        name, given = (default if value is None else value), {}
    name = str(name).lower()
    if name not in allowed:
        raise ValueError(f"unknown {key} {name!r}; choose from {', '.join(allowed)}")
    unknown = sorted(set(given) - set(params))
    if unknown:
        valid = f"; valid: {', '.join(params)}" if params else ""
        raise ValueError(f"{key} {name!r} takes no parameter {', '.join(unknown)}{valid}")
    return name, given
