"""Search algorithms: Ray's grid/random generator and our scikit-optimize `SkOptSearch`."""
from __future__ import annotations

from typing import Any

from orchestrator.searchers.factory import build_search_algorithm


def __getattr__(name: str) -> Any:  # scikit-optimize is imported only when asked for
    if name == "SkOptSearch":
        from orchestrator.searchers.skopt_search import SkOptSearch

        return SkOptSearch
    raise AttributeError(f"module 'orchestrator.searchers' has no attribute {name!r}")


__all__ = ["SkOptSearch", "build_search_algorithm"]
