"""See a sweep after the fact: its data as frames, pictures, a self-contained HTML report, and `hpo ls`.

The names below are imported on first use, so that the live progress view (`progress`, which only needs
`outcomes` and `configs`) does not pull pandas and matplotlib into every `hpo run`.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "REPORT_FILE": "build", "Report": "build", "write_report": "build",
    "SweepSummary": "listing", "format_table": "listing", "list_sweeps": "listing",
    "SweepData": "sweep_data", "load_sweep": "sweep_data",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
