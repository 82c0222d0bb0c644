"""Names of the built-in trainables, and resolution of a spec's `trainable:` reference.

A reference is a registered name (`sklearn_classifier`) or `"package.module:function"`.
Built-ins are stored as import paths and imported only when resolved, so importing the
registry never loads torch or scikit-learn. A user trainable may offer a final fit for
`hpo train --from-best` by carrying it as an attribute: `train.final_fit = my_final_fit`.
"""
from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from orchestrator.errors import UserInputError

Trainable = Callable[[dict], None]
FinalFit = Callable[[dict, str], dict]

# name -> (trainable, final fit), both "module:attribute"
BUILTINS: dict[str, tuple[str, str]] = {
    "sklearn_classifier": ("trainables.sklearn_models:sklearn_classifier",
                           "trainables.sklearn_models:final_fit_classifier"),
    "sklearn_regressor": ("trainables.sklearn_models:sklearn_regressor",
                          "trainables.sklearn_models:final_fit_regressor"),
    "torch_mlp": ("trainables.torch_models:torch_mlp", "trainables.torch_models:final_fit_mlp"),
    "torch_cnn": ("trainables.torch_models:torch_cnn", "trainables.torch_models:final_fit_cnn"),
    "cash_classifier": ("trainables.cash:cash_classifier", "trainables.cash:final_fit"),
}


class TrainableNotFound(LookupError, UserInputError):
    """A `trainable:` reference that names nothing callable; the message is one line."""


def names() -> list[str]:
    """The registered trainable names."""
    return sorted(BUILTINS)


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
    elif ref in BUILTINS:
        obj = _load(BUILTINS[ref][0], ref)
    else:
        close = difflib.get_close_matches(ref, names(), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise TrainableNotFound(f"unknown trainable {ref!r}; {hint}registered: "
                                f"{', '.join(names())}, or use 'package.module:function'")
    if not callable(obj):
        raise TrainableNotFound(f"trainable {ref!r} is a {type(obj).__name__}, not callable")
    return obj


def resolve_final_fit(ref: str) -> FinalFit | None:
    """`final_fit(config, out_dir) -> test metrics` for `ref`, or None when it has none."""
    if ref in BUILTINS:
        return _load(BUILTINS[ref][1], ref)
    final_fit = getattr(resolve(ref), "final_fit", None)
    return final_fit if callable(final_fit) else None
