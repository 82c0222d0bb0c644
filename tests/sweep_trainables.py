"""Tiny trainables for runner tests, referenced from specs as 'sweep_trainables:<name>'."""
from __future__ import annotations

import json
import os
import tempfile

from ray import tune


def quadratic(config: dict) -> None:
    """Reports `score = -(x-3)^2 - (y+1)^2` improving over `epochs` steps, with a checkpoint each."""
    x, y = config["x"], config.get("y", -1.0)
    target = -(x - 3.0) ** 2 - (y + 1.0) ** 2
    for epoch in range(1, config.get("epochs", 3) + 1):
        score = target - 1.0 / epoch
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "state.json"), "w") as f:
                json.dump({"epoch": epoch, "x": x, "score": score}, f)
            tune.report({"score": score, "epoch": epoch}, checkpoint=tune.Checkpoint.from_directory(d))


def peaked(config: dict) -> None:
    """`acc` rises until epoch `peak`, then falls: the best checkpoint is not the last one."""
    peak, epochs = config.get("peak", 3), config.get("epochs", 6)
    for epoch in range(1, epochs + 1):
        acc = config.get("base", 0.5) + 0.1 * (epoch if epoch <= peak else 2 * peak - epoch)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "state.json"), "w") as f:
                json.dump({"epoch": epoch}, f)
            tune.report({"acc": acc}, checkpoint=tune.Checkpoint.from_directory(d))
