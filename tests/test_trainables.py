"""Trainables: registry resolution, real short training runs, checkpoints and final fits."""
from __future__ import annotations

import json
import os
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
    # A final fit is the trainable's attribute `final_fit`: it comes along however it is named.
    assert resolve_final_fit("trainables.sklearn_models:sklearn_regressor") is resolve_final_fit("sklearn_regressor")
    assert resolve_final_fit("sweep_trainables:quadratic") is None  # a trainable without one


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


def test_report_outside_any_run_prints(capsys: pytest.CaptureFixture[str]) -> None:
    trial.report({"val_accuracy": 0.5}, state={"epoch": 1})
    assert "val_accuracy=0.5" in capsys.readouterr().out
    assert trial.restore() is None


def test_checkpoint_staging_left_by_dead_processes_is_removed(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A trial killed inside `report` leaves its staging folder (a whole model state) behind; the next process's first
    checkpoint removes the ones whose process is gone and keeps live processes' ones."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(trial, "_orphans_removed", False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"{trial.STAGING_PREFIX}{dead.pid}-abc123"
    live = tmp_path / f"{trial.STAGING_PREFIX}{os.getppid()}-def456"
    unrelated = tmp_path / f"{trial.STAGING_PREFIX}old_style"
    for folder in (orphan, live, unrelated):
        folder.mkdir()
        (folder / trial.PICKLE_STATE_FILE).write_bytes(b"state")
    with trial.checkpoint_staging_dir() as staging:
        assert Path(staging).name.startswith(f"{trial.STAGING_PREFIX}{os.getpid()}-")
        assert not orphan.exists() and live.exists() and unrelated.exists()
    assert not Path(staging).exists()


def test_device_seeding_and_rng_state(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    import numpy as np
    import torch

    monkeypatch.setenv("HPO_DEVICE", "cpu")
    assert trial.trial_device() == torch.device("cpu")
    trial.seed_everything(7)
    saved = trial.rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    trial.set_rng_state(saved)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_user_trainable_final_fit_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    from trainables import sklearn_models

    def my_final_fit(config: dict, out_dir: str) -> dict:
        return {"test_score": 1.0}

    monkeypatch.setattr(sklearn_models.sklearn_regressor, "final_fit", my_final_fit,
                        raising=False)
    assert resolve_final_fit("trainables.sklearn_models:sklearn_regressor") is my_final_fit


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


# --- torch -------------------------------------------------------------------------------------

TORCH_FAST = {"max_epochs": 4, "batch_size": 32, "lr": 0.01}


@pytest.mark.parametrize(("ref", "config", "metric", "floor"), [
    ("torch_mlp", {"dataset": "digits", "optimizer": "adamw", "weight_decay": 0.01,
                   "lr_schedule": "cosine"}, "val_accuracy", 0.85),
    ("torch_cnn", {"channels": [8, 16], "batch_norm": True, "activation": "elu",
                   "lr_schedule": {"name": "warmup_cosine", "warmup_epochs": 1}},
     "val_accuracy", 0.85),
    ("torch_mlp", {"dataset": "wine", "optimizer": {"name": "sgd", "momentum": 0.9},
                   "activation": "tanh", "init": "xavier", "dropout": 0.1}, "val_accuracy", 0.6),
    ("torch_mlp", {"dataset": "breast_cancer", "optimizer": "rmsprop", "lr": 0.001,
                   "activation": "leaky_relu", "init": "kaiming", "lr_schedule": "step",
                   "hidden_sizes": 32, "num_layers": 1}, "val_accuracy", 0.8),
    ("torch_mlp", {"dataset": "diabetes", "activation": "sigmoid", "lr_schedule": "warmup",
                   "max_epochs": 8}, "val_r2", 0.1),
])
def test_torch_trainables_learn(ref: str, config: dict, metric: str, floor: float) -> None:
    run = trial.run_locally(resolve(ref), {**TORCH_FAST, **config})
    assert len(run.results) == run.last["epoch"] == config.get("max_epochs", 4)
    assert {"train_loss", "val_loss", metric} <= set(run.last)
    assert run.last[metric] > floor
    assert run.results[-1]["train_loss"] < run.results[0]["train_loss"]


def test_torch_restore_continues_identically() -> None:
    config = {**TORCH_FAST, "dropout": 0.3, "lr_schedule": "cosine", "batch_norm": True}
    straight = trial.run_locally(resolve("torch_mlp"), config)
    state = straight.states[1]
    assert state["epoch"] == 2 and {"model", "optimizer", "scheduler", "rng"} <= set(state)
    resumed = trial.run_locally(resolve("torch_mlp"), config, resume_from=state)
    assert resumed.results == straight.results[2:]


def test_torch_final_fit_and_reload(tmp_path: Path) -> None:
    import torch

    from trainables.torch_models import load_final_model

    metrics = resolve_final_fit("torch_cnn")({**TORCH_FAST, "max_epochs": 3}, str(tmp_path))
    assert metrics["test_accuracy"] > 0.8
    model, scaler, card = load_final_model(tmp_path)
    assert card["metrics"] == metrics and scaler is not None
    assert model(torch.zeros(2, 64)).shape == (2, 10)


def test_cash_classifier_dispatches_torch_branch(tmp_path: Path) -> None:
    config = {"dataset": "digits", "scaler": "standard",
              "model": {"name": "torch_mlp", "max_epochs": 2, "lr": 0.01}}
    run = trial.run_locally(resolve("cash_classifier"), config)
    assert len(run.results) == 2 and run.last["val_accuracy"] > 0.8
    svc = {**config, "model": {"name": "svc", "C": 10.0}}
    assert resolve_final_fit("cash_classifier")(svc, str(tmp_path))["test_accuracy"] > 0.9


# --- under Ray Tune ----------------------------------------------------------------------------
# One sweep, two trials side by side (cheaper than two sweeps on 2 cores):
#  "peaked": its metric peaks at epoch 3 of 6 and it crashes once at epoch 5; the retry must
#            resume from its checkpoint and the best checkpoint kept must be epoch 3.
#  "torch":  torch_mlp for 3 epochs, checkpointing `state.pt` each epoch.

@pytest.fixture(scope="module")
def tune_results(ray_local, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from ray import tune

    storage = tmp_path_factory.mktemp("tune")

    def _under_tune(config: dict) -> None:
        from pathlib import Path as P

        from orchestrator import trial as t
        from trainables import resolve as find

        if config["which"] == "torch":
            find("torch_mlp")({**TORCH_FAST, "max_epochs": 3})
            return
        state = t.restore()
        for epoch in range((state or {"epoch": 0})["epoch"] + 1, 7):
            if epoch == 5 and not P(config["marker"]).exists():
                P(config["marker"]).touch()
                raise RuntimeError("injected failure")
            t.report({"val_accuracy": 0.9 - 0.05 * (epoch - 3) ** 2, "epoch": epoch},
                     state={"epoch": epoch, "resumed": state is not None})

    tuner = tune.Tuner(
        _under_tune,
        param_space={"which": tune.grid_search(["peaked", "torch"]),
                     "marker": str(storage / "crashed")},
        tune_config=tune.TuneConfig(num_samples=1),
        run_config=tune.RunConfig(
            storage_path=str(storage), name="t", verbose=0,
            failure_config=tune.FailureConfig(max_failures=1),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2,
                                                    checkpoint_score_attribute="val_accuracy",
                                                    checkpoint_score_order="max")))
    return {r.config["which"]: r for r in tuner.fit()}


def test_best_epoch_checkpoint_survives_a_retry(tune_results: dict) -> None:
    result = tune_results["peaked"]
    assert result.error is None
    assert result.metrics["epoch"] == 6 and result.metrics["training_iteration"] == 6
    with result.get_best_checkpoint("val_accuracy", "max").as_directory() as directory:
        assert trial.load_state(directory)["epoch"] == 3
    kept = sorted(int(metrics["epoch"]) for _, metrics in result.best_checkpoints)
    assert 3 in kept and len(kept) <= 3  # the best two by val_accuracy, plus the latest
    with result.checkpoint.as_directory() as directory:
        assert trial.load_state(directory) == {"epoch": 6, "resumed": True}


def test_torch_mlp_under_tune(tune_results: dict) -> None:
    result = tune_results["torch"]
    assert result.error is None and result.metrics["training_iteration"] == 3
    assert result.metrics["val_accuracy"] > 0.8
    with result.checkpoint.as_directory() as directory:
        assert (Path(directory) / trial.TORCH_STATE_FILE).exists()
        assert trial.load_state(directory)["epoch"] == 3
