"""A real CASH objective for `search_quality.py`: validation accuracy of a scikit-learn pipeline.

Data set (made once, fixed): `make_classification(n_samples=1500, n_features=20, n_informative=10,
n_redundant=5, n_clusters_per_class=1, class_sep=0.8, flip_y=0.05, random_state=0)`, 5 pure-noise
features and 5% flipped labels; each column is then multiplied by a fixed factor from 1e-2 to 1e3
(a fixed permutation of `np.logspace(-2, 3, 20)`), as features in different units are, so that
the distance-based models need a scaler. Fixed stratified split: 600 rows to train, 900 to
validate (`random_state=0`); the value is the accuracy on those 900 rows.

Space (`CASH_SPACE`), a scaler (`none`, `standard`, `minmax`) before one of:
  svc            `SVC(kernel="rbf")`, C log-uniform [1e-2, 1e3], gamma log-uniform [1e-4, 1e1]
  random_forest  `RandomForestClassifier(random_state=0)`, n_estimators in [10, 150],
                 max_depth in [2, 30]
  knn            `KNeighborsClassifier`, n_neighbors in [1, 50], weights uniform | distance

SVC with a scaler is the best branch, but only on a diagonal band of log C x log gamma;
knn with a scaler is an easy plateau a few points lower; the random forest is insensitive to
the scaler and plateaus about as low as knn; SVC or knn without a scaler is poor.

Best validation accuracy per branch (same search as CASH_BEST): svc 0.92889 (standard or minmax),
knn 0.89667 (standard), random_forest 0.89444, knn without a scaler 0.69111, svc without one 0.63778.

CASH_BEST = 836/900 = 0.92889, the best of 7374 distinct configs: a 41 x 41 log grid of C x gamma
over the full ranges for svc with each of standard and minmax (11 x 11 without a scaler), every
n_neighbors x weights x scaler for knn, n_estimators 10, 20, ..., 150 x every max_depth for the
random forest, 2000 random configs of `CASH_SPACE`, then a 21 x 21 grid spanning +-0.25 decades
around each of the 5 best separate svc points. Nine configs reach it, none exceeds it.

Mean evaluation time: 0.072 s over 300 random configs (svc 0.038 s, random_forest 0.166 s, knn
0.009 s), one core, OMP/OpenBLAS single-threaded, sklearn 1.9.1; 6000 evaluations ~7 minutes.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
from ray import tune
from sklearn.base import ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC

CASH_SPACE: dict[str, Any] = {
    "model": tune.choice([
        {"name": "svc", "C": tune.loguniform(1e-2, 1e3), "gamma": tune.loguniform(1e-4, 1e1)},
        {"name": "random_forest", "n_estimators": tune.randint(10, 151), "max_depth": tune.randint(2, 31)},
        {"name": "knn", "n_neighbors": tune.randint(1, 51), "weights": tune.choice(["uniform", "distance"])},
    ]),
    "scaler": tune.choice(["none", "standard", "minmax"]),
}

CASH_BEST = 836 / 900  # 0.92889


def _make_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = make_classification(n_samples=1500, n_features=20, n_informative=10, n_redundant=5,
                               n_clusters_per_class=1, class_sep=0.8, flip_y=0.05, random_state=0)
    x = x * np.logspace(-2, 3, x.shape[1])[np.random.RandomState(1).permutation(x.shape[1])]
    x_train, x_val, y_train, y_val = train_test_split(x, y, train_size=600, random_state=0, stratify=y)
    return x_train, x_val, y_train, y_val


_X_TRAIN, _X_VAL, _Y_TRAIN, _Y_VAL = _make_data()


def _classifier(model: dict[str, Any]) -> ClassifierMixin:
    name = model["name"]
    if name == "svc":
        return SVC(C=float(model["C"]), gamma=float(model["gamma"]))
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=int(model["n_estimators"]), max_depth=int(model["max_depth"]),
                                      random_state=0, n_jobs=1)
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=int(model["n_neighbors"]), weights=model["weights"], n_jobs=1)
    raise ValueError(f"unknown model {name!r}")


def _freeze(value: Any) -> Any:
    """A hashable copy of a config: dicts as sorted item tuples, numpy scalars as Python ones."""
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value.item() if isinstance(value, np.generic) else value


def _thaw(frozen: Any) -> Any:
    if isinstance(frozen, tuple):
        return {k: _thaw(v) for k, v in frozen}
    return frozen


@functools.lru_cache(maxsize=None)
def _accuracy(frozen: tuple) -> float:
    config = _thaw(frozen)
    scaler = {"none": None, "standard": StandardScaler(), "minmax": MinMaxScaler()}[config["scaler"]]
    classifier = _classifier(config["model"])
    pipeline = make_pipeline(classifier) if scaler is None else make_pipeline(scaler, classifier)
    pipeline.fit(_X_TRAIN, _Y_TRAIN)
    return float(pipeline.score(_X_VAL, _Y_VAL))


def cash_accuracy(config: dict) -> float:
    """Validation accuracy of `config` (`CASH_SPACE` shape); deterministic, repeated configs memoised."""
    return _accuracy(_freeze(config))
