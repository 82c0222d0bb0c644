"""`torch_mlp` and `torch_cnn`: torch trainables on the bundled datasets, epoch by epoch.

Config keys read, besides the architecture keys of `trainables.torch_nets` and the optimizer
and schedule keys of `trainables.torch_optim`:
  dataset       digits (default) | breast_cancer | wine | diabetes (regression); torch_cnn:
                digits only (8x8 images)
  scaler        none | standard (default) | minmax | pca (MLP only), as in sklearn_classifier
  max_epochs    epochs to train (default 20)
  batch_size    (default 64)
  seed          weights, dropout and shuffling (default 0)
  val_fraction, split_seed   as in sklearn_classifier
  threads       CPU threads per trial (default: the CPUs Ray assigned it; see `threads`)
Each epoch reports `train_loss`, `val_loss` and `val_accuracy` (classification) or `val_r2`
and `val_mse` (regression, in target units; losses are on the standardized target), plus
`epoch` and `lr`, with a checkpoint (`state.pt`: model, optimizer, scheduler, epoch, RNG
and shuffling states) from which a restored trial continues exactly as if never stopped.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from orchestrator import trial
from trainables import datasets, torch_nets
from trainables.artifacts import CARD_FILE, write_card
from trainables.predictors import Predictor
from trainables.preprocessing import build_scaler, scaler_name
from trainables.threads import limited_threads
from trainables.torch_optim import build_optimizer, build_schedule

MODEL_FILE = "model.pt"
SCALER_FILE = "scaler.joblib"
NETS = ("mlp", "cnn")


@dataclass
class Problem:
    """Arrays to fit and to evaluate on (validation in a search, test in a final fit)."""

    task: datasets.Task
    X_fit: np.ndarray
    y_fit: np.ndarray
    X_eval: np.ndarray
    y_eval: np.ndarray
    n_outputs: int
    image_shape: tuple[int, int, int] | None
    scaler: Any | None
    y_mean: float = 0.0
    y_std: float = 1.0


def _problem(config: Mapping[str, Any], net: str, final: bool) -> Problem:
    """Load, split and scale the data; a final fit trains on train+val and evaluates on test."""
    splits = datasets.from_config(dict(config), None, "digits")
    if net == "cnn" and splits.image_shape is None:
        raise ValueError(f"torch_cnn needs an image dataset (digits), not {splits.name!r}")
    X_fit, y_fit = splits.train_val() if final else (splits.X_train, splits.y_train)
    X_eval, y_eval = (splits.X_test, splits.y_test) if final else (splits.X_val, splits.y_val)
    if net == "cnn" and scaler_name(config.get("scaler"), "standard") == "pca":
        raise ValueError("torch_cnn keeps the image shape: scaler pca is not allowed")
    scaler = build_scaler(config.get("scaler"), splits.n_features, default="standard")
    if scaler is not None:
        X_fit, X_eval = scaler.fit_transform(X_fit), scaler.transform(X_eval)
    problem = Problem(splits.task, X_fit, y_fit, X_eval, y_eval, splits.n_classes,
                      splits.image_shape, scaler)
    if splits.task == "regression":
        problem.y_mean, problem.y_std = float(y_fit.mean()), float(y_fit.std())
    return problem


def _network(config: Mapping[str, Any], net: str, n_features: int, n_outputs: int,
             image_shape: tuple[int, int, int] | None) -> nn.Module:
    if net == "cnn":
        return torch_nets.cnn(config, image_shape, n_outputs)
    return torch_nets.mlp(config, n_features, n_outputs)


class Trainer:
    """One model with its optimizer, schedule and generators, trained an epoch at a time."""

    def __init__(self, config: Mapping[str, Any], net: str, problem: Problem,
                 device: torch.device) -> None:
        seed = int(config.get("seed", 0))
        trial.seed_everything(seed)
        self.problem, self.device = problem, device
        self.max_epochs = int(config.get("max_epochs", 20))
        self.batch_size = int(config.get("batch_size", 64))
        self.model = _network(config, net, problem.X_fit.shape[1], problem.n_outputs,
                              problem.image_shape).to(device)
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.schedule = build_schedule(config, self.optimizer, self.max_epochs)
        self.shuffle = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.loss = nn.CrossEntropyLoss() if problem.task == "classification" else nn.MSELoss()
        self.X_fit, self.y_fit = self._tensors(problem.X_fit, problem.y_fit)
        self.X_eval, self.y_eval = self._tensors(problem.X_eval, problem.y_eval)

    def _tensors(self, X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device)
        if self.problem.task == "classification":
            return features, torch.as_tensor(y, dtype=torch.long, device=self.device)
        scaled = (np.asarray(y, dtype=np.float32) - self.problem.y_mean) / self.problem.y_std
        return features, torch.as_tensor(scaled, device=self.device).unsqueeze(1)

    def state(self) -> dict[str, Any]:
        """Everything a restored trial needs to continue identically."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.schedule.state_dict(), "epoch": self.epoch,
                "rng": trial.rng_state(), "shuffle": self.shuffle.get_state()}

    def load(self, state: Mapping[str, Any]) -> None:
        """Continue from a `state()` taken after some epoch."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        trial.set_rng_state(state["rng"])
        self.shuffle.set_state(state["shuffle"])

    def train_epoch(self) -> float:
        """One pass over the shuffled training rows; returns the mean training loss."""
        self.model.train()
        order = torch.randperm(len(self.X_fit), generator=self.shuffle).to(self.device)
        total, seen = 0.0, 0
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            if len(batch) < 2 and seen:  # batch norm cannot train on one row
                continue
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(self.X_fit[batch]), self.y_fit[batch])
            loss.backward()
            self.optimizer.step()
            total, seen = total + loss.item() * len(batch), seen + len(batch)
        self.schedule.step()
        self.epoch += 1
        return total / max(1, seen)

    @torch.no_grad()
    def evaluate(self, prefix: str) -> dict[str, float]:
        """Loss and accuracy (or R^2 and MSE in target units) on the evaluation rows."""
        self.model.eval()
        output = self.model(self.X_eval)
        metrics = {f"{prefix}_loss": float(self.loss(output, self.y_eval))}
        if self.problem.task == "classification":
            hits = (output.argmax(dim=1) == self.y_eval).float().mean()
            return {**metrics, f"{prefix}_accuracy": float(hits)}
        error = ((output - self.y_eval) ** 2).mean() * self.problem.y_std ** 2
        variance = self.y_eval.var(unbiased=False) * self.problem.y_std ** 2
        return {**metrics, f"{prefix}_mse": float(error),
                f"{prefix}_r2": float(1.0 - error / variance)}


def _trainer(config: Mapping[str, Any], net: str, final: bool) -> Trainer:
    return Trainer(config, net, _problem(config, net, final), trial.trial_device())


def _train(config: dict, net: str) -> None:
    """Train epoch by epoch from the latest checkpoint (if any), reporting every epoch."""
    with limited_threads(config):
        _train_epochs(config, net)


def _train_epochs(config: dict, net: str) -> None:
    trainer = _trainer(config, net, final=False)
    state = trial.restore()
    if state is not None:
        trainer.load(state)
    while trainer.epoch < trainer.max_epochs:
        lr = trainer.optimizer.param_groups[0]["lr"]
        train_loss = trainer.train_epoch()
        metrics = {"train_loss": train_loss, **trainer.evaluate("val"),
                   "epoch": trainer.epoch, "lr": lr}
        trial.report(metrics, state=trainer.state())
        if not math.isfinite(train_loss):  # diverged: more epochs cannot help
            return


def torch_mlp(config: dict) -> None:
    """An MLP on any bundled dataset (classification, or regression on diabetes)."""
    _train(config, "mlp")


def torch_cnn(config: dict) -> None:
    """A small CNN on the 8x8 digit images."""
    _train(config, "cnn")


def _final_fit(config: dict, out_dir: str, net: str) -> dict[str, float]:
    """Train `max_epochs` on train+val, evaluate on test; save the state dict and its card."""
    with limited_threads(config):
        trainer = _trainer(config, net, final=True)
        while trainer.epoch < trainer.max_epochs:
            train_loss = trainer.train_epoch()
    metrics = {"train_loss": train_loss, **trainer.evaluate("test")}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(trainer.model.cpu().state_dict(), out / MODEL_FILE)
    extra: dict[str, Any] = {"net": net, "task": trainer.problem.task,
                             "n_features": int(trainer.problem.X_fit.shape[1]),
                             "n_outputs": trainer.problem.n_outputs,
                             "target_scale": [trainer.problem.y_mean, trainer.problem.y_std],
                             "scaler_file": None}
    if trainer.problem.scaler is not None:
        import joblib

        joblib.dump(trainer.problem.scaler, out / SCALER_FILE)
        extra["scaler_file"] = SCALER_FILE
    write_card(out, trainable=f"torch_{net}", model_file=MODEL_FILE, config=config,
               metrics=metrics, extra=extra)
    return metrics


def final_fit_mlp(config: dict, out_dir: str) -> dict[str, float]:
    """`torch_mlp`'s final fit: test metrics of the config trained on train+val."""
    return _final_fit(config, out_dir, "mlp")


def final_fit_cnn(config: dict, out_dir: str) -> dict[str, float]:
    """`torch_cnn`'s final fit: test metrics of the config trained on train+val."""
    return _final_fit(config, out_dir, "cnn")


def _load_predictor(config: dict, checkpoint_dir: str, net: str) -> Predictor:
    """A checkpoint's network, with the scaler its trial fitted on the training rows, for `hpo ensemble`."""
    problem = _problem(config, net, final=False)
    splits = datasets.from_config(dict(config), None, "digits")
    model = _network(config, net, problem.X_fit.shape[1], problem.n_outputs, problem.image_shape)
    model.load_state_dict(trial.load_state(checkpoint_dir)["model"])
    model.eval()

    @torch.no_grad()
    def predict(X: np.ndarray) -> np.ndarray:
        rows = problem.scaler.transform(X) if problem.scaler is not None else X
        output = model(torch.as_tensor(np.asarray(rows, dtype=np.float32)))
        if problem.task == "classification":
            return torch.softmax(output, dim=1).numpy()
        return output.squeeze(1).numpy() * problem.y_std + problem.y_mean

    return Predictor(problem.task, splits.n_classes, predict, splits.X_test, splits.y_test,
                     splits.X_val, splits.y_val)


def load_predictor_mlp(config: dict, checkpoint_dir: str) -> Predictor:
    """`torch_mlp`'s checkpoint as a predictor."""
    return _load_predictor(config, checkpoint_dir, "mlp")


def load_predictor_cnn(config: dict, checkpoint_dir: str) -> Predictor:
    """`torch_cnn`'s checkpoint as a predictor."""
    return _load_predictor(config, checkpoint_dir, "cnn")


# `hpo train --from-best` finds a trainable's final fit as its attribute `final_fit`, `hpo ensemble` its
# checkpoints' models through `load_predictor`.
torch_mlp.final_fit = final_fit_mlp  # type: ignore[attr-defined]
torch_cnn.final_fit = final_fit_cnn  # type: ignore[attr-defined]
torch_mlp.load_predictor = load_predictor_mlp  # type: ignore[attr-defined]
torch_cnn.load_predictor = load_predictor_cnn  # type: ignore[attr-defined]


def load_final_model(out_dir: str | Path) -> tuple[nn.Module, Any | None, dict[str, Any]]:
    """The network saved by a final fit (eval mode, CPU), its fitted scaler and its card."""
    import json

    out = Path(out_dir)
    card = json.loads((out / CARD_FILE).read_text())
    model = _network(card["config"], card["net"], card["n_features"], card["n_outputs"],
                     datasets.IMAGE_SHAPES.get(card["config"].get("dataset", "digits")))
    model.load_state_dict(torch.load(out / card["model_file"], map_location="cpu"))
    scaler = None
    if card.get("scaler_file"):
        import joblib

        scaler = joblib.load(out / card["scaler_file"])
    return model.eval(), scaler, card

