"""`sklearn_classifier` and `sklearn_regressor`: classical ML trainables and their final fits.

Config keys read (all others are ignored, so a spec may carry constants for other uses):
  dataset       digits | breast_cancer | wine (classifier, default digits); diabetes (regressor)
  model         {"name": <algorithm>, **hyperparameters}, see `trainables.estimators`
  scaler        none | standard | minmax | pca, or {"name": "pca", "n_components": ..}
  seed          random_state of the estimator (default 0)
  val_fraction  share of the dataset held out for validation (default 0.2)
  split_seed    which validation rows (default 0; the test rows never change)
  cv            k >= 2: k-fold cross-validation on train+validation instead of one holdout
  report_steps  growth steps reported by forests and boosting (default 10)
  threads       BLAS/OpenMP threads (default: the CPUs Ray assigned the trial; see `threads`)
Reports `val_accuracy`, `train_accuracy` (classifier) or `val_r2`, `val_mse`, `train_r2`
(regressor), plus `step`; with cv the means over folds and `val_*_std`. Every report carries
a checkpoint: `{"models": [fitted Pipeline per fold], "step": n}` as `state.pkl`.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator import trial
from trainables import datasets, estimators
from trainables.artifacts import write_card
from trainables.predictors import Predictor, one_hot
from trainables.preprocessing import build_scaler
from trainables.threads import limited_threads

MODEL_FILE = "model.joblib"
DEFAULT_DATASET = {"classification": "digits", "regression": "diabetes"}


@dataclass
class Fold:
    """One train/validation pair, already transformed by the fold's fitted scaler."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


def _model_name(config: Mapping[str, Any]) -> str:
    """The algorithm name in `config['model']` (a mapping with `name`, or a bare name)."""
    model = config["model"]
    return str(model["name"] if isinstance(model, Mapping) else model)


def _pipeline(config: Mapping[str, Any], task: estimators.Task, n_features: int) -> Any:
    """An unfitted Pipeline: the configured scaler, then the configured estimator."""
    from sklearn.pipeline import Pipeline

    if "model" not in config:
        raise ValueError("config has no 'model' (e.g. {'name': 'svc', 'C': 1.0})")
    scaler = build_scaler(config.get("scaler"), n_features)
    _, estimator = estimators.build(task, config["model"], int(config.get("seed", 0)))
    return Pipeline([("scaler", scaler or "passthrough"), ("model", estimator)])


def _fold(pipeline: Any, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,
          y_val: np.ndarray, fit_scaler: bool) -> Fold:
    scaler = pipeline[:-1]
    if fit_scaler:
        scaler.fit(X_train)
    return Fold(scaler.transform(X_train), y_train, scaler.transform(X_val), y_val)


def _splits_of(config: Mapping[str, Any], task: estimators.Task,
               splits: datasets.Splits) -> list[tuple[np.ndarray, ...]]:
    """(X_train, y_train, X_val, y_val) per fold: the holdout, or k folds of train+val."""
    cv = int(config.get("cv", 0) or 0)
    if cv < 2:
        return [(splits.X_train, splits.y_train, splits.X_val, splits.y_val)]
    from sklearn.model_selection import KFold, StratifiedKFold

    X, y = splits.train_val()
    kind = StratifiedKFold if task == "classification" else KFold
    folds = kind(n_splits=cv, shuffle=True, random_state=int(config.get("split_seed", 0)))
    return [(X[a], y[a], X[b], y[b]) for a, b in folds.split(X, y)]


def _advance(algorithm: estimators.Algorithm, estimator: Any, fold: Fold, point: int | None,
             classes: np.ndarray | None) -> None:
    """Train one step: the whole fit, growth up to `point`, or one more epoch."""
    if algorithm.growth == "grow":
        estimator.set_params(**{algorithm.steps_param: point})
    if algorithm.growth == "epochs":
        extra = {"classes": classes} if classes is not None else {}
        estimator.partial_fit(fold.X_train, fold.y_train, **extra)
    else:
        estimator.fit(fold.X_train, fold.y_train)


def _scores(task: estimators.Task, estimator: Any, X: np.ndarray, y: np.ndarray,
            prefix: str) -> dict[str, float]:
    from sklearn import metrics

    predicted = estimator.predict(X)
    if task == "classification":
        return {f"{prefix}_accuracy": metrics.accuracy_score(y, predicted)}
    return {f"{prefix}_r2": metrics.r2_score(y, predicted),
            f"{prefix}_mse": metrics.mean_squared_error(y, predicted)}


def _fold_metrics(task: estimators.Task, models: list[Any], folds: list[Fold]) -> dict[str, float]:
    """Train and validation scores, averaged over folds (with spreads when there are several)."""
    rows = [{**_scores(task, m[-1], f.X_train, f.y_train, "train"),
             **_scores(task, m[-1], f.X_val, f.y_val, "val")} for m, f in zip(models, folds)]
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    if len(rows) > 1:
        out.update({f"{k}_std": float(np.std([r[k] for r in rows]))
                    for k in rows[0] if k.startswith("val_")})
    return out


@contextlib.contextmanager
def _fitting(config: Mapping[str, Any]) -> Iterator[None]:
    """Inside: the trial's thread limit, and no convergence warnings (a budget is a choice)."""
    from sklearn.exceptions import ConvergenceWarning

    with limited_threads(config), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _train(config: dict, task: estimators.Task) -> None:
    """Fit the configured pipeline step by step, reporting and checkpointing after each step."""
    splits = datasets.from_config(config, task, DEFAULT_DATASET[task])
    state = trial.restore()
    pairs = _splits_of(config, task, splits)
    models = state["models"] if state else [
        _pipeline(config, task, splits.n_features) for _ in pairs]
    folds = [_fold(m, *p, fit_scaler=state is None) for m, p in zip(models, pairs)]
    algorithm, blueprint = estimators.build(task, config["model"], None)
    points: list[int | None] = list(estimators.growth_schedule(
        algorithm, blueprint, int(config.get("report_steps", 10)))) or [None]
    classes = np.unique(splits.y_train) if task == "classification" else None
    for step in range(state["step"] if state else 0, len(points)):
        for model, fold in zip(models, folds):
            _advance(algorithm, model[-1], fold, points[step], classes)
        trial.report({**_fold_metrics(task, models, folds), "step": step + 1},
                     state={"models": models, "step": step + 1})


def sklearn_classifier(config: dict) -> None:
    """Classify a bundled dataset with the configured scaler and algorithm."""
    with _fitting(config):
        _train(config, "classification")


def sklearn_regressor(config: dict) -> None:
    """Regress the diabetes dataset with the configured scaler and algorithm."""
    with _fitting(config):
        _train(config, "regression")


def _final_fit(config: dict, out_dir: str, task: estimators.Task, name: str) -> dict[str, float]:
    """Refit on train+validation, score on test, save `model.joblib` and `model.json`."""
    import joblib

    splits = datasets.from_config(config, task, DEFAULT_DATASET[task])
    X, y = splits.train_val()
    model = _pipeline(config, task, splits.n_features)
    fold = _fold(model, X, y, splits.X_test, splits.y_test, fit_scaler=True)
    algorithm = estimators.catalogue(task)[_model_name(config)]
    schedule = estimators.growth_schedule(algorithm, model[-1], 1)
    classes = np.unique(y) if task == "classification" else None
    for point in schedule or [None]:
        _advance(algorithm, model[-1], fold, point, classes)
    metrics = {**_scores(task, model, X, y, "train"),
               **_scores(task, model, splits.X_test, splits.y_test, "test")}
    metrics = trial.plain_metrics(metrics)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / MODEL_FILE)
    write_card(out, trainable=name, model_file=MODEL_FILE, config=config, metrics=metrics,
               extra={"dataset": splits.name, "task": task})
    return metrics


def final_fit_classifier(config: dict, out_dir: str) -> dict[str, float]:
    """`sklearn_classifier`'s final fit: `test_accuracy` of the config refit on train+val."""
    with _fitting(config):
        return _final_fit(config, out_dir, "classification", "sklearn_classifier")


def final_fit_regressor(config: dict, out_dir: str) -> dict[str, float]:
    """`sklearn_regressor`'s final fit: `test_r2` / `test_mse` of the config refit on train+val."""
    with _fitting(config):
        return _final_fit(config, out_dir, "regression", "sklearn_regressor")


def _load_predictor(config: dict, checkpoint_dir: str, task: estimators.Task) -> Predictor:
    """The fitted pipelines of a checkpoint (one per fold, averaged) as a `Predictor` for `hpo ensemble`."""
    models = trial.load_state(checkpoint_dir)["models"]
    splits = datasets.from_config(config, task, DEFAULT_DATASET[task])
    n_classes = splits.n_classes

    def predict(X: np.ndarray) -> np.ndarray:
        with _fitting(config):
            if task == "regression":
                return np.mean([m.predict(X) for m in models], axis=0)
            return np.mean([_probabilities(m, X, n_classes) for m in models], axis=0)

    held_out = int(config.get("cv", 0) or 0) < 2   # with cross-validation every model saw the validation rows
    return Predictor(task, n_classes, predict, splits.X_test, splits.y_test,
                     splits.X_val if held_out else None, splits.y_val if held_out else None)


def _probabilities(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities in columns 0..n_classes-1; one-hot labels for a model without `predict_proba`."""
    if not hasattr(model, "predict_proba"):
        return one_hot(model.predict(X), n_classes)
    out = np.zeros((len(X), n_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(X)
    return out


def load_predictor_classifier(config: dict, checkpoint_dir: str) -> Predictor:
    """`sklearn_classifier`'s checkpoint as a predictor of class probabilities."""
    return _load_predictor(config, checkpoint_dir, "classification")


def load_predictor_regressor(config: dict, checkpoint_dir: str) -> Predictor:
    """`sklearn_regressor`'s checkpoint as a predictor of values."""
    return _load_predictor(config, checkpoint_dir, "regression")


# `hpo train --from-best` finds a trainable's final fit as its attribute `final_fit`, `hpo ensemble` its
# checkpoints' models through `load_predictor`.
sklearn_classifier.final_fit = final_fit_classifier  # type: ignore[attr-defined]
sklearn_regressor.final_fit = final_fit_regressor  # type: ignore[attr-defined]
sklearn_classifier.load_predictor = load_predictor_classifier  # type: ignore[attr-defined]
sklearn_regressor.load_predictor = load_predictor_regressor  # type: ignore[attr-defined]

