"""`cash_classifier`: one conditional `model` choice over classical algorithms and torch nets.

`config["model"]["name"]` picks the branch. A scikit-learn algorithm name (see
`trainables.estimators`) runs `sklearn_classifier` unchanged; `torch_mlp` or `torch_cnn` runs
that torch trainable with the branch's parameters (lr, hidden_sizes, max_epochs, ...) lifted
to the top level of the config. Every branch reports `val_accuracy`.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

TORCH_BRANCHES = ("torch_mlp", "torch_cnn")
# The trainable each branch runs, by module (imported on first use: torch only for torch branches).
BRANCH_MODULES = {"sklearn_classifier": "trainables.sklearn_models",
                  **{name: "trainables.torch_models" for name in TORCH_BRANCHES}}


def _branch(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(branch name, the config that branch's trainable reads)."""
    model = config.get("model")
    name = model.get("name") if isinstance(model, Mapping) else model
    if name not in TORCH_BRANCHES:
        return "sklearn_classifier", dict(config)
    params = {k: v for k, v in model.items() if k != "name"} if isinstance(model, Mapping) else {}
    rest = {k: v for k, v in config.items() if k != "model"}
    return str(name), {**rest, **params}


def _trainable(name: str) -> Callable[[dict], None]:
    return getattr(importlib.import_module(BRANCH_MODULES[name]), name)


def cash_classifier(config: dict) -> None:
    """Train the chosen branch: a scikit-learn classifier or a torch network."""
    name, branch_config = _branch(config)
    _trainable(name)(branch_config)


def final_fit(config: dict, out_dir: str) -> dict[str, float]:
    """The chosen branch's final fit."""
    name, branch_config = _branch(config)
    return _trainable(name).final_fit(branch_config, out_dir)  # type: ignore[attr-defined]


def load_predictor(config: dict, checkpoint_dir: str) -> Any:
    """The chosen branch's checkpoint as a predictor (for `hpo ensemble`)."""
    name, branch_config = _branch(config)
    return _trainable(name).load_predictor(branch_config, checkpoint_dir)  # type: ignore[attr-defined]


cash_classifier.final_fit = final_fit  # type: ignore[attr-defined]  # for `hpo train --from-best`
cash_classifier.load_predictor = load_predictor  # type: ignore[attr-defined]  # for `hpo ensemble`
