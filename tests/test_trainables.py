"""Trainables: registry resolution, real short training runs, checkpoints and final fits."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import trial
from trainables import TrainableNotFound, names, resolve, resolve_final_fit

DIGITS_CHANCE = 0.1


# --- registry ------------------------------------------------------------------------------

def test_registry_names_and_builtins() -> None:
    assert {"sklearn_classifier", "sklearn_regressor", "torch_mlp", "torch_cnn"} <= set(names())
    assert callable(resolve("sklearn_classifier"))


def test_registry_import_is_cheap() -> None:
    code = ("import sys, trainables, orchestrator.trial; "
            "print(any(m in sys.modules for m in ('torch', 'sklearn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize(("ref", "fragment"), [
    ("sklearn_clasifier", "did you mean 'sklearn_classifier'"),
    ("no_such_pkg.mod:train", "cannot import module 'no_such_pkg.mod'"),
    ("trainables.sklearn_models:nope", "has no attribute 'nope'"),
    ("trainables.sklearn_models:MODEL_FILE", "not callable"),
    ("trainables.sklearn_models:", "package.module:function"),
])
def test_registry_errors_are_one_line(ref: str, fragment: str) -> None:
    with pytest.raises(LookupError) as info:
        resolve(ref)
    assert isinstance(info.value, TrainableNotFound)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_module_function_reference() -> None:
    from trainables.sklearn_models import sklearn_regressor

    assert resolve("trainables.sklearn_models:sklearn_regressor") is sklearn_regressor
    assert resolve_final_fit("sklearn_regressor") is not None
    assert resolve_final_fit("trainables.sklearn_models:sklearn_regressor") is None


# --- trial helpers ---------------------------------------------------------------------------

def test_report_casts_metrics_and_round_trips_state() -> None:
    import numpy as np

    def train(config: dict) -> None:
        assert trial.restore() == config.get("expect")
        trial.report({"acc": np.float32(0.5), "n": np.int64(3)}, state={"w": np.arange(3)})

    run = trial.run_locally(train, {})
    assert run.results == [{"acc": 0.5, "n": 3.0}]
    assert type(run.results[0]["acc"]) is float
    assert run.states[0]["w"].tolist() == [0, 1, 2]
    assert trial.run_locally(train, {"expect": {"a": 1}}, resume_from={"a": 1}).results


# --- scikit-learn ----------------------------------------------------------------------------

@pytest.mark.parametrize("model", [
    {"name": "svc", "C": 10.0, "gamma": 0.001},
    {"name": "random_forest", "n_estimators": 30.0, "max_depth": 8},
    {"name": "knn", "n_neighbors": 3},
    {"name": "logistic_regression", "C": 1.0},
])
def test_sklearn_classifier_beats_chance(model: dict) -> None:
    run = trial.run_locally(resolve("sklearn_classifier"),
                            {"dataset": "digits", "model": model, "scaler": "standard",
                             "report_steps": 3, "unrelated_constant": 1})
    assert run.last["val_accuracy"] > 0.8 > DIGITS_CHANCE
    assert 0.0 <= run.last["train_accuracy"] <= 1.0


def test_sklearn_growing_models_report_each_step_and_resume() -> None:
    config = {"dataset": "wine", "model": {"name": "gradient_boosting", "max_iter": 20},
              "scaler": {"name": "pca", "n_components": 5}, "report_steps": 4}
    straight = trial.run_locally(resolve("sklearn_classifier"), config)
    assert [r["step"] for r in straight.results] == [1.0, 2.0, 3.0, 4.0]
    resumed = trial.run_locally(resolve("sklearn_classifier"), config,
                                resume_from=straight.states[1])
    assert resumed.results == straight.results[2:]


def test_sklearn_epoch_models_and_cv() -> None:
    run = trial.run_locally(resolve("sklearn_classifier"),
                            {"dataset": "breast_cancer", "model": {"name": "sgd", "max_iter": 5},
                             "scaler": "minmax", "cv": 3})
    assert len(run.results) == 5
    assert run.last["val_accuracy"] > 0.8 and "val_accuracy_std" in run.last


def test_sklearn_rejects_unknown_hyperparameter() -> None:
    with pytest.raises(ValueError, match="takes no parameter gama"):
        trial.run_locally(resolve("sklearn_classifier"), {"model": {"name": "svc", "gama": 1}})


def test_sklearn_regressor_beats_mean() -> None:
    run = trial.run_locally(resolve("sklearn_regressor"),
                            {"model": {"name": "ridge", "alpha": 1.0}, "scaler": "standard"})
    assert run.last["val_r2"] > 0.2 and run.last["val_mse"] > 0


def test_sklearn_final_fit(tmp_path: Path) -> None:
    import joblib

    final_fit = resolve_final_fit("sklearn_classifier")
    config = {"dataset": "digits", "model": {"name": "svc", "C": 10.0}, "scaler": "standard"}
    metrics = final_fit(config, str(tmp_path))
    assert metrics["test_accuracy"] > 0.9
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["metrics"] == metrics and card["config"] == config
    assert joblib.load(tmp_path / card["model_file"]).predict([[0.0] * 64]).shape == (1,)
