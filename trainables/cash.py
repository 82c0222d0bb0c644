"""`cash_classifier`: one conditional `model` choice over classical algorithms and torch nets.

`config["model"]["name"]` picks the branch. A scikit-learn algorithm name (see
`trainables.estimators`) runs `sklearn_classifier` unchanged; `torch_mlp` or `torch_cnn` runs
that torch trainable with the branch's parameters (lr, hidden_sizes, max_epochs, ...) lifted
to the top level of the config. Every branch reports `val_accuracy`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TORCH_BRANCHES = ("torch_mlp", "torch_cnn")


def _branch(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(branch name, the config that branch's trainable reads)."""
    model = config.get("model")
    name = model.get("name") if isinstance(model, Mapping) else model
    if name not in TORCH_BRANCHES:
        return "sklearn_classifier", dict(config)
    params = {k: v for k, v in model.items() if k != "name"} if isinstance(model, Mapping) else {}
    rest = {k: v for k, v in config.items() if k != "model"}
    return str(name), {**rest, **params}


def cash_classifier(config: dict) -> None:
    """Train the chosen branch: a scikit-learn classifier or a torch network."""
    from trainables.registry import resolve

    name, branch_config = _branch(config)
    resolve(name)(branch_config)


def final_fit(config: dict, out_dir: str) -> dict[str, float]:
    """The chosen branch's final fit."""
    from trainables.registry import resolve_final_fit

    name, branch_config = _branch(config)
    return resolve_final_fit(name)(branch_config, out_dir)
