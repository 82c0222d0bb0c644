"""Trial configs as flat `dotted.key -> value` mappings: one column per hyperparameter in tables and frames."""
from __future__ import annotations

from typing import Any, Mapping


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys (`model.name`, `model.C`); lists become their text."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value if not isinstance(value, (list, tuple)) else str(list(value))
    return flat
