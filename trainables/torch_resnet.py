"""`torch_resnet`: a small ResNet-style CNN on synthetic CIFAR-shaped images, a workload that makes a GPU worth having.

The images are made on the trial's device (no download, no host-to-device copy per batch): each class is a fixed
random low-frequency pattern, each image that pattern over a mirrored other one, recoloured and buried in noise, so accuracy climbs
over epochs and the best configuration matters. The data of a (device, size, seed) is generated once per process
and reused by the next trial a reused actor runs.

Config keys (defaults in brackets):
  image_size [32], train_size [8192], val_size [2048], noise [1.0]   the data; image_size and train_size are the
                                                                       size knobs (tests use 8 and 256)
  width [32] (channels of the first stage, doubled per stage), blocks [1] (residual blocks per stage, 3 stages)
  lr [0.05], momentum [0.9], weight_decay [5e-4], batch_size [256], max_epochs [8], label_smoothing [0.0]
  bf16 [true]            bfloat16 autocast on a GPU (ignored on CPU)
  channels_last [true]   NHWC memory layout on a GPU (faster convolutions with tensor cores)
  seed [0], data_seed [0], threads (CPU threads; default the CPUs Ray assigned)
Each epoch reports `train_loss`, `val_loss`, `val_accuracy`, `epoch`, `images_per_s` with a checkpoint
(model, optimizer, epoch) from which a paused or retried trial continues.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from orchestrator import trial
from trainables.threads import limited_threads

NUM_CLASSES = 10


@lru_cache(maxsize=4)
def synthetic_images(device: str, image_size: int, train_size: int, val_size: int, noise: float,
                     data_seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(X_train, y_train, X_val, y_val) on `device`: 3-channel images of `NUM_CLASSES` noisy shifted patterns."""
    generator = torch.Generator(device=device).manual_seed(data_seed)
    coarse = torch.randn(NUM_CLASSES, 3, 4, 4, generator=generator, device=device)
    patterns = F.interpolate(coarse, size=(image_size, image_size), mode="bilinear", align_corners=False)

    def draw(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, NUM_CLASSES, (count,), generator=generator, device=device)
        distractors = torch.randint(0, NUM_CLASSES, (count,), generator=generator, device=device)
        images = patterns[labels] + 0.5 * torch.flip(patterns[distractors], dims=(3,))
        colour = 1.0 + 0.3 * torch.randn(count, 3, 1, 1, generator=generator, device=device)
        images = images * colour + noise * torch.randn(images.shape, generator=generator, device=device)
        return images.contiguous(), labels

    X_train, y_train = draw(train_size)
    X_val, y_val = draw(val_size)
    return X_train, y_train, X_val, y_val


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (a 1x1 projection when the shape changes)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = nn.Identity() if stride == 1 and channels_in == channels_out else nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet(width: int, blocks: int) -> nn.Module:
    """Stem, three stages of `blocks` residual blocks (width, 2x, 4x channels; stride 2 between), pooled head."""
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    channels = width
    for stage in range(3):
        out = width * 2 ** stage
        for index in range(blocks):
            layers.append(ResidualBlock(channels, out, 2 if stage and index == 0 else 1))
            channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, NUM_CLASSES)]
    return nn.Sequential(*layers)


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {"image_size": 32, "train_size": 8192, "val_size": 2048, "noise": 1.0, "width": 32, "blocks": 1,
                "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 256, "max_epochs": 8,
                "label_smoothing": 0.0, "bf16": True, "channels_last": True, "seed": 0, "data_seed": 0}
    return {key: config.get(key, default) for key, default in defaults.items()}


def torch_resnet(config: dict) -> None:
    """Train the ResNet epoch by epoch from the latest checkpoint (if any), reporting every epoch."""
    with limited_threads(config):
        _train(_settings(config), trial.trial_device())


def _train(s: dict[str, Any], device: torch.device) -> None:
    on_gpu = device.type == "cuda"
    if on_gpu:
        torch.backends.cudnn.benchmark = True
    X_train, y_train, X_val, y_val = synthetic_images(str(device), int(s["image_size"]), int(s["train_size"]),
                                                      int(s["val_size"]), float(s["noise"]), int(s["data_seed"]))
    trial.seed_everything(int(s["seed"]))
    layout = torch.channels_last if on_gpu and s["channels_last"] else torch.contiguous_format
    model = resnet(int(s["width"]), int(s["blocks"])).to(device, memory_format=layout)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(s["lr"]), momentum=float(s["momentum"]),
                                weight_decay=float(s["weight_decay"]), nesterov=True)
    epochs = int(s["max_epochs"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=float(s["lr"]), total_steps=epochs)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=on_gpu and bool(s["bf16"]))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=float(s["label_smoothing"]))
    epoch, state = 0, trial.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        epoch = int(state["epoch"])
    shuffle = torch.Generator(device=device).manual_seed(int(s["seed"]))
    batch = int(s["batch_size"])
    while epoch < epochs:
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(X_train), generator=shuffle, device=device)
        total = torch.zeros((), device=device)   # summed on the device: no sync per batch
        for start in range(0, len(order) - 1, batch):
            rows = order[start:start + batch]
            with autocast:
                loss = loss_fn(model(X_train[rows].contiguous(memory_format=layout)), y_train[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach().float() * len(rows)
        schedule.step()
        epoch += 1
        val_loss, val_accuracy = _evaluate(model, X_val, y_val, batch * 4, autocast, layout)
        seconds = time.perf_counter() - started
        trial.report({"train_loss": float(total) / len(X_train), "val_loss": val_loss, "val_accuracy": val_accuracy,
                      "epoch": epoch, "images_per_s": len(X_train) / seconds},
                     state={"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                            "schedule": schedule.state_dict(), "epoch": epoch})


@torch.no_grad()
def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch: int, autocast: Any,
              layout: torch.memory_format) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on the validation images."""
    model.eval()
    loss, hits = torch.zeros((), device=X.device), torch.zeros((), device=X.device)
    for start in range(0, len(X), batch):
        with autocast:
            logits = model(X[start:start + batch].contiguous(memory_format=layout)).float()
        loss += F.cross_entropy(logits, y[start:start + batch], reduction="sum")
        hits += (logits.argmax(dim=1) == y[start:start + batch]).sum()
    return float(loss) / len(X), float(hits) / len(X)
