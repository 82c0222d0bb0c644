"""The scikit-learn algorithms a `model` choice can name, and how each one is built and grown.

`config["model"]` is `{"name": <algorithm>, <hyperparameter>: value, ...}`; hyperparameters
are the estimator's own constructor arguments (checked, so a typo fails the trial with the
valid names). How an algorithm trains decides how often it reports:
`once` (one fit, one report), `grow` (trees added with `warm_start` up to `n_estimators` /
`max_iter`, a report after each of `report_steps` growth steps), `epochs` (`partial_fit`
one epoch at a time for `max_iter` epochs, a report after each).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Literal

Growth = Literal["once", "grow", "epochs"]
Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Algorithm:
    """One catalogue entry: the estimator class and how it trains step by step."""

    name: str
    estimator: str                     # "module:Class"
    growth: Growth = "once"
    steps_param: str | None = None     # the size grown (grow) or the epoch count (epochs)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    seeded: bool = True                # takes random_state

    def cls(self) -> type:
        module, _, name = self.estimator.partition(":")
        return getattr(importlib.import_module(module), name)


def _forest(name: str, estimator: str) -> Algorithm:
    return Algorithm(name, estimator, "grow", "n_estimators",
                     {"n_estimators": 100, "warm_start": True})


def _boosting(estimator: str) -> Algorithm:
    return Algorithm("gradient_boosting", estimator, "grow", "max_iter",
                     {"max_iter": 100, "warm_start": True, "early_stopping": False})


def _epochs(name: str, estimator: str, **defaults: Any) -> Algorithm:
    return Algorithm(name, estimator, "epochs", "max_iter", {"max_iter": 20, **defaults})


CLASSIFIERS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("knn", "sklearn.neighbors:KNeighborsClassifier", seeded=False),
    Algorithm("logistic_regression", "sklearn.linear_model:LogisticRegression",
              defaults={"max_iter": 300}),
    Algorithm("svc", "sklearn.svm:SVC"),
    Algorithm("decision_tree", "sklearn.tree:DecisionTreeClassifier"),
    _forest("random_forest", "sklearn.ensemble:RandomForestClassifier"),
    _forest("extra_trees", "sklearn.ensemble:ExtraTreesClassifier"),
    _boosting("sklearn.ensemble:HistGradientBoostingClassifier"),
    _epochs("sgd", "sklearn.linear_model:SGDClassifier"),
    _epochs("mlp", "sklearn.neural_network:MLPClassifier"),
)}

REGRESSORS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("linear_regression", "sklearn.linear_model:LinearRegression", seeded=False),
    Algorithm("ridge", "sklearn.linear_model:Ridge"),
    Algorithm("lasso", "sklearn.linear_model:Lasso"),
    Algorithm("knn", "sklearn.neighbors:KNeighborsRegressor", seeded=False),
    Algorithm("svr", "sklearn.svm:SVR", seeded=False),
    Algorithm("decision_tree", "sklearn.tree:DecisionTreeRegressor"),
    _forest("random_forest", "sklearn.ensemble:RandomForestRegressor"),
    _forest("extra_trees", "sklearn.ensemble:ExtraTreesRegressor"),
    _boosting("sklearn.ensemble:HistGradientBoostingRegressor"),
    _epochs("sgd", "sklearn.linear_model:SGDRegressor"),
    _epochs("mlp", "sklearn.neural_network:MLPRegressor", learning_rate_init=0.01),
)}


def catalogue(task: Task) -> dict[str, Algorithm]:
    """The algorithms for a task."""
    return CLASSIFIERS if task == "classification" else REGRESSORS


def _coerce(cls: type, name: str, value: Any) -> Any:
    """Plain Python values; integral floats (quniform, Bayes) become ints where ints are due."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        kinds = {getattr(c, "type", None) for c in getattr(cls, "_parameter_constraints", {})
                 .get(name, [])}
        if Integral in kinds and Real not in kinds:
            return int(value)
    return value


def build(task: Task, model: Mapping[str, Any] | str, seed: int | None) -> tuple[Algorithm, Any]:
    """The algorithm named by `model` and its unfitted estimator with the given hyperparameters."""
    spec: Mapping[str, Any] = {"name": model} if isinstance(model, str) else model
    algorithms = catalogue(task)
    name = spec.get("name")
    if name not in algorithms:
        raise ValueError(f"unknown {task} model {name!r}; choose from {', '.join(algorithms)}")
    algorithm = algorithms[name]
    cls = algorithm.cls()
    valid = set(cls().get_params())
    params = {k: v for k, v in spec.items() if k != "name"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(f"model {name!r} takes no parameter {', '.join(unknown)}; "
                         f"valid: {', '.join(sorted(valid))}")
    kwargs = {**algorithm.defaults, **{k: _coerce(cls, k, v) for k, v in params.items()}}
    if algorithm.seeded and seed is not None and "random_state" not in params:
        kwargs["random_state"] = seed
    return algorithm, cls(**kwargs)


def growth_schedule(algorithm: Algorithm, estimator: Any, report_steps: int) -> list[int]:
    """The sizes (grow) or epoch numbers (epochs) after which a report is made; [] for `once`."""
    if algorithm.growth == "once":
        return []
    total = int(estimator.get_params()[algorithm.steps_param])
    if algorithm.growth == "epochs":
        return list(range(1, total + 1))
    steps = max(1, min(report_steps, total))
    return sorted({-(-total * (i + 1) // steps) for i in range(steps)})
