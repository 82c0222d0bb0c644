"""The trainables a spec's `trainable:` may name, and resolving such a reference.

A reference is a registered name (`sklearn_classifier`) or `"package.module:function"`.
Names come from the entry-point group `hpo.trainables` of installed distributions (hpo's own
in `pyproject.toml`), each `name = "module:function"`; names are listed from the metadata and a
module is imported only when its trainable is resolved. A final fit for `hpo train
--from-best` is the trainable's attribute `final_fit(config, out_dir) -> test metrics`.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from orchestrator.errors import UserInputError

GROUP = "hpo.trainables"

Trainable = Callable[[dict], None]
FinalFit = Callable[[dict, str], dict]


class TrainableNotFound(LookupError, UserInputError):
    """A `trainable:` reference that names nothing callable; the message is one line."""


def _registered() -> dict[str, EntryPoint]:
    """Registered name -> its entry point (the first installed one, for a name given twice)."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=GROUP):
        found.setdefault(entry.name, entry)
    if not found:
        raise TrainableNotFound(f"no trainables registered (entry points {GROUP!r}): "
                                f"is hpo installed (pip install -e .)?")
    return found


def names() -> list[str]:
    """The registered trainable names, sorted; nothing is imported."""
    return sorted(_registered())


def _import_module(module: str, ref: str) -> Any:
    """Import `module`, also from the working directory (where a user's own package lives)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name != top or os.getcwd() in sys.path:
            raise TrainableNotFound(f"trainable {ref!r}: cannot import module {module!r} "
                                    f"({type(exc).__name__}: {exc})") from None
        sys.path.insert(0, os.getcwd())
        return _import_module(module, ref)
    except Exception as exc:  # the user's module raised while importing
        raise TrainableNotFound(f"trainable {ref!r}: importing module {module!r} failed "
                                f"({type(exc).__name__}: {exc})") from None


def _load(path: str, ref: str) -> Any:
    """The object at `module:attribute` (attribute may be dotted)."""
    module, _, attribute = path.partition(":")
    if not module or not attribute:
        raise TrainableNotFound(f"trainable {ref!r}: expected a registered name or "
                                f"'package.module:function'")
    obj = _import_module(module, ref)
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise TrainableNotFound(f"trainable {ref!r}: module {module!r} has no attribute "
                                    f"{attribute!r}")
        obj = getattr(obj, part)
    return obj


def resolve(ref: str) -> Trainable:
    """The trainable function `ref` names; raises TrainableNotFound (a LookupError) if none."""
    if ":" in ref:
        obj = _load(ref, ref)
    else:
        registered = _registered()
        if ref not in registered:
            known = sorted(registered)
            close = difflib.get_close_matches(ref, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise TrainableNotFound(f"unknown trainable {ref!r}; {hint}registered: "
                                    f"{', '.join(known)}, or use 'package.module:function'")
        entry = registered[ref]
        obj = _load(f"{entry.module}:{entry.attr}", ref)  # without any [extras]
    if not callable(obj):
        raise TrainableNotFound(f"trainable {ref!r} is a {type(obj).__name__}, not callable")
    return obj


def module_findable(ref: str) -> bool:
    """Whether the top-level package of a `package.module:function` reference is importable here, from `sys.path`
    or the working directory (as `resolve` imports it), without importing anything."""
    top = ref.partition(":")[0].split(".")[0]
    if top in sys.modules:
        return True
    try:
        if importlib.util.find_spec(top) is not None:
            return True
    except (ImportError, ValueError):
        return False
    return importlib.machinery.PathFinder.find_spec(top, [os.getcwd()]) is not None


def resolve_final_fit(ref: str) -> FinalFit | None:
    """`final_fit(config, out_dir) -> test metrics` of the trainable `ref` names, or None."""
    final_fit = getattr(resolve(ref), "final_fit", None)
    return final_fit if callable(final_fit) else None


def resolve_predictor_loader(ref: str) -> Callable[[dict, str], Any] | None:
    """`load_predictor(config, checkpoint_dir) -> predictor` of the trainable `ref` names (what `hpo ensemble`
    asks of it: see `trainables.predictors`), or None."""
    loader = getattr(resolve(ref), "load_predictor", None)
    return loader if callable(loader) else None
