"""`"module:function"` references: how the extension tables name code without importing it."""
from __future__ import annotations

import importlib
from typing import Any


def load_reference(reference: str) -> Any:
    """The object `module:attribute` names (the attribute may be dotted), importing the module now."""
    module, _, attribute = reference.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj
