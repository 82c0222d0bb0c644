"""The torch networks the trainables search over: an MLP and a small CNN for 8x8 images.

Architecture keys read from the trial config:
  hidden_sizes  list of layer widths, or one width repeated `num_layers` times (MLP default
                [128, 64]; the CNN's dense head default [64])
  num_layers    with an integer `hidden_sizes` (default 2)
  channels      CNN convolution channels, one 3x3 conv (+ 2x2 max-pool while the image is
                at least 4x4) per entry (default [16, 32]); or a first width, doubled over
                `num_conv` blocks (default 2)
  activation    relu | leaky_relu | elu | tanh | sigmoid (default relu)
  dropout       probability after each hidden layer (default 0.0)
  batch_norm    true/false (default false)
  init          default | xavier | kaiming (default: kaiming for relu-like, xavier otherwise)
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from torch import nn

from trainables.choices import named

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid}
INITS = ("default", "xavier", "kaiming")
RELU_LIKE = ("relu", "leaky_relu", "elu")


def _choice(config: Mapping[str, Any], key: str, default: str, allowed: Collection[str]) -> str:
    return named(config.get(key), default, key, allowed)[0]


def hidden_sizes(config: Mapping[str, Any], default: list[int]) -> list[int]:
    """Layer widths from `hidden_sizes` (a list, or a width with `num_layers`)."""
    sizes = config.get("hidden_sizes", default)
    if isinstance(sizes, (int, float)):
        sizes = [sizes] * int(config.get("num_layers", 2))
    return [int(s) for s in sizes]


def conv_channels(config: Mapping[str, Any]) -> list[int]:
    """CNN channels from `channels` (a list, or a first width doubled over `num_conv` blocks)."""
    channels = config.get("channels", [16, 32])
    if isinstance(channels, (int, float)):
        return [int(channels) * 2 ** i for i in range(int(config.get("num_conv", 2)))]
    return [int(c) for c in channels]


def _block(config: Mapping[str, Any], layer: nn.Module, width: int, norm: type[nn.Module],
           dropout: type[nn.Module]) -> list[nn.Module]:
    """layer -> [batch norm] -> activation -> [dropout]."""
    modules = [layer]
    if config.get("batch_norm", False):
        modules.append(norm(width))
    modules.append(ACTIVATIONS[_choice(config, "activation", "relu", ACTIVATIONS)]())
    if float(config.get("dropout", 0.0)) > 0:
        modules.append(dropout(float(config["dropout"])))
    return modules


def _dense(config: Mapping[str, Any], n_in: int, n_out: int, default: list[int]) -> list[nn.Module]:
    """Hidden dense blocks then the output layer."""
    modules: list[nn.Module] = []
    for width in hidden_sizes(config, default):
        modules += _block(config, nn.Linear(n_in, width), width, nn.BatchNorm1d, nn.Dropout)
        n_in = width
    return modules + [nn.Linear(n_in, n_out)]


def initialize(model: nn.Module, config: Mapping[str, Any]) -> nn.Module:
    """Apply the configured weight init to every linear and conv layer (biases to zero)."""
    activation = _choice(config, "activation", "relu", ACTIVATIONS)
    init = _choice(config, "init", "default", INITS)
    if init == "default":
        init = "kaiming" if activation in RELU_LIKE else "xavier"
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if init == "kaiming":
                nn.init.kaiming_normal_(module.weight, nonlinearity="leaky_relu"
                                        if activation == "leaky_relu" else "relu")
            else:
                nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def mlp(config: Mapping[str, Any], n_features: int, n_outputs: int) -> nn.Module:
    """A multilayer perceptron on flat feature vectors."""
    return initialize(nn.Sequential(*_dense(config, n_features, n_outputs, [128, 64])), config)


def cnn(config: Mapping[str, Any], image_shape: tuple[int, int, int], n_outputs: int) -> nn.Module:
    """A small CNN: 3x3 conv blocks (max-pooled while the image is larger than 2x2), dense head."""
    channels_in, height, width = image_shape
    modules: list[nn.Module] = [nn.Unflatten(1, image_shape)]
    for channels in conv_channels(config):
        conv = nn.Conv2d(channels_in, channels, kernel_size=3, padding=1)
        modules += _block(config, conv, channels, nn.BatchNorm2d, nn.Dropout2d)
        if min(height, width) >= 4:
            modules.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        channels_in = channels
    modules.append(nn.Flatten())
    modules += _dense(config, channels_in * height * width, n_outputs, [64])
    return initialize(nn.Sequential(*modules), config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

