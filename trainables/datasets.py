"""The bundled scikit-learn datasets, split the same way in every trial.

The test split (20%) is fixed by a constant seed and never seen during a search: only a
final fit (`hpo train --from-best`) evaluates on it. The validation split is carved from the
rest by `split_seed` (default 0) so that every trial of a sweep is compared on the same
validation rows; a trial's own `seed` only changes its model's randomness.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

TEST_FRACTION = 0.2
TEST_SEED = 20240611

CLASSIFICATION = ("digits", "breast_cancer", "wine")
REGRESSION = ("diabetes",)
IMAGE_SHAPES = {"digits": (1, 8, 8)}

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Splits:
    """One dataset split into train / validation / test arrays."""

    name: str
    task: Task
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (1 for regression: one output)."""
        if self.task == "regression":
            return 1
        return int(np.unique(np.concatenate([self.y_train, self.y_val, self.y_test])).size)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(channels, height, width) when the rows are images, else None."""
        return IMAGE_SHAPES.get(self.name)

    def train_val(self) -> tuple[np.ndarray, np.ndarray]:
        """Train and validation rows together: what a final fit trains on."""
        return (np.concatenate([self.X_train, self.X_val]),
                np.concatenate([self.y_train, self.y_val]))


def names(task: Task | None = None) -> tuple[str, ...]:
    """The dataset names, for one task or all."""
    if task == "classification":
        return CLASSIFICATION
    if task == "regression":
        return REGRESSION
    return CLASSIFICATION + REGRESSION


@lru_cache(maxsize=None)
def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    loader = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer,
              "wine": datasets.load_wine, "diabetes": datasets.load_diabetes}[name]
    bunch = loader()
    return bunch.data.astype(np.float32), bunch.target


def load(name: str, val_fraction: float = 0.2, split_seed: int = 0,
         task: Task | None = None) -> Splits:
    """Load `name` and split it; `val_fraction` is a fraction of the whole dataset."""
    if name not in names(task):
        kind = f"{task} " if task else ""
        raise ValueError(f"unknown {kind}dataset {name!r}; choose from {', '.join(names(task))}")
    if not 0.0 < val_fraction < 1.0 - TEST_FRACTION:
        raise ValueError(f"val_fraction must be in (0, {1.0 - TEST_FRACTION}), got {val_fraction}")
    from sklearn.model_selection import train_test_split

    X, y = _raw(name)
    the_task: Task = "regression" if name in REGRESSION else "classification"
    stratify = the_task == "classification"
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, random_state=TEST_SEED, stratify=y if stratify else None)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_fraction / (1.0 - TEST_FRACTION), random_state=split_seed,
        stratify=y_rest if stratify else None)
    return Splits(name, the_task, X_train, y_train, X_val, y_val, X_test, y_test)


def from_config(config: dict, task: Task | None, default: str) -> Splits:
    """The splits a trial config asks for: keys `dataset`, `val_fraction`, `split_seed`."""
    return load(str(config.get("dataset", default)), float(config.get("val_fraction", 0.2)),
                int(config.get("split_seed", 0)), task)
