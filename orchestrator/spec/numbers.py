"""Numbers as specs write them: YAML strings that spell a number, and the finiteness test
that never overflows (a 4000-digit integer is an input, not a crash)."""
from __future__ import annotations

import math
from typing import Any

MAX_INT_BOUND = 2**53  # integers beyond this lose precision as floats (and overflow numpy's int64 soon after)


def as_number(value: Any) -> Any:
    """A quoted number (`"1e-3"`) as the float it spells; anything else unchanged."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def is_finite_number(value: Any) -> bool:
    """An int or float (not a bool) that is finite as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False
