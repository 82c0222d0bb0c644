"""Optimizer and learning-rate schedule built from a trial config (the schedule steps per epoch).

Keys read:
  lr            learning rate (default 1e-3)
  weight_decay  L2 penalty; decoupled for adamw (default 0)
  optimizer     sgd | adam | adamw | rmsprop (default adam), or {"name": "sgd", "momentum": ..}
  momentum      sgd and rmsprop momentum (default 0.9 for sgd, 0 for rmsprop); nesterov for sgd
  lr_schedule   constant | step | cosine | warmup | warmup_cosine (default constant), or
                {"name": "step", "step_size": 5, "gamma": 0.1} / {"name": "warmup",
                "warmup_epochs": 2}; `warmup` ramps linearly then stays, `warmup_cosine` then decays
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import torch

from trainables.choices import named

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
OPTIMIZER_PARAMS = ("momentum", "nesterov", "betas", "eps", "alpha")
SCHEDULES = ("constant", "step", "cosine", "warmup", "warmup_cosine")
SCHEDULE_PARAMS = ("step_size", "gamma", "warmup_epochs", "eta_min")


def build_optimizer(config: Mapping[str, Any],
                    params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The configured optimizer over `params`."""
    name, extra = named(config.get("optimizer"), "adam", "optimizer", OPTIMIZERS,
                        OPTIMIZER_PARAMS)
    lr = float(config.get("lr", 1e-3))
    weight_decay = float(config.get("weight_decay", 0.0))
    momentum = float(extra.get("momentum", config.get("momentum", 0.9 if name == "sgd" else 0.0)))
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=bool(extra.get("nesterov", config.get("nesterov", False))))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                                   alpha=float(extra.get("alpha", 0.99)))
    kind = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    betas = tuple(float(b) for b in extra.get("betas", (0.9, 0.999)))
    return kind(params, lr=lr, weight_decay=weight_decay, betas=betas,
                eps=float(extra.get("eps", 1e-8)))


def _warmup_factor(epoch: int, warmup: int, total: int, decay: bool) -> float:
    """LR multiplier: linear ramp over `warmup` epochs, then flat or cosine down to 0."""
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    if not decay:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / max(1, total - warmup)))


def build_schedule(config: Mapping[str, Any], optimizer: torch.optim.Optimizer,
                   max_epochs: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The configured per-epoch schedule (`constant` is a schedule too, so it checkpoints alike)."""
    name, extra = named(config.get("lr_schedule"), "constant", "lr_schedule", SCHEDULES,
                        SCHEDULE_PARAMS)
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=int(extra.get("step_size", max(1, max_epochs // 3))),
            gamma=float(extra.get("gamma", 0.1)))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max_epochs, eta_min=float(extra.get("eta_min", 0.0)))
    warmup = int(extra.get("warmup_epochs", max(1, max_epochs // 10))) if "warmup" in name else 0
    factor = partial(_warmup_factor, warmup=warmup, total=max_epochs, decay=name == "warmup_cosine")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
