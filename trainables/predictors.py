"""What `hpo ensemble` asks of a trainable (its attribute `load_predictor(config, checkpoint_dir)`): the model of a
trial's checkpoint, predicting raw rows of its dataset, and that dataset's held-out test and validation rows."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Predictor:
    """One trial's model: `predict` maps raw rows to class probabilities (n, n_classes) or to values (n,)."""

    task: str            # classification | regression
    n_classes: int       # 1 for regression
    predict: Callable[[np.ndarray], np.ndarray]
    X_test: np.ndarray
    y_test: np.ndarray
    X_val: np.ndarray | None = None   # the validation rows the trial was scored on (greedy ensemble selection);
    y_val: np.ndarray | None = None   # None when the model trained on them (cross-validation)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Labels 0..n_classes-1 as rows of probabilities, for models that only predict labels."""
    out = np.zeros((len(labels), n_classes))
    out[np.arange(len(labels)), np.asarray(labels, dtype=int)] = 1.0
    return out
