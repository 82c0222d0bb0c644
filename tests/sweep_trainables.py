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


def flaky(config: dict) -> None:
    """Reports `score = epoch + x` per epoch with a checkpoint, and misbehaves at epoch
    `fail_at` as `config["fault"]` says. With `once_marker` (a file path) it misbehaves only
    on the first attempt, so a retry from the checkpoint can finish the trial."""
    import math
    import signal
    import time

    from orchestrator import trial

    state = trial.restore() or {"epoch": 0, "starts": 0}
    fault = config.get("fault", "none")
    marker = config.get("once_marker")
    for epoch in range(state["epoch"] + 1, config.get("epochs", 3) + 1):
        time.sleep(config.get("sleep", 0.0))
        value = float(epoch) + config.get("x", 0.0)
        misbehave = epoch == config.get("fail_at", 2) and not (marker and os.path.exists(marker))
        if misbehave and marker:
            open(marker, "w").close()
        if misbehave and fault == "raise":
            raise RuntimeError(f"boom at epoch {epoch}")
        if misbehave and fault in ("nan", "inf"):
            value = math.nan if fault == "nan" else math.inf
        if misbehave and fault == "exit":
            os._exit(3)
        if misbehave and fault == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        if misbehave and fault == "hang":
            time.sleep(3600)
        if fault == "wrong_metric":
            trial.report({"other": value, "loss": -value})
            continue
        trial.report({"score": value, "resumed_from": state["epoch"]}, state={"epoch": epoch, "starts": 0})


def needs_secret(config: dict) -> None:
    """Reports `ok = 1` only when the spec's secret constants arrived in the config."""
    ok = config.get("api_token") == "tok-9f8e7d" and config.get("db", {}).get("password") == "pw-1a2b3c"
    tune.report({"ok": 1.0 if ok else 0.0, "public": config["db"]["host"]})


def needs_value_secrets(config: dict) -> None:
    """Reports `ok = 1` only when secrets found by value (a URL's password, a token in a list) arrived in the config."""
    ok = "PASS-77" in config.get("db_url", "") and "tok-in-list" in str(config.get("headers"))
    tune.report({"ok": 1.0 if ok else 0.0})


def branchy(config: dict) -> None:
    """One report: `score = -(x-3)^2 + w` for branch a, `v / 10` for branch b, `- z / 10`: a conditional space."""
    model = config["model"]
    bonus = model["w"] if model["name"] == "a" else model["v"] / 10
    tune.report({"score": -(config["x"] - 3.0) ** 2 + bonus - config.get("z", 0) / 10})


def curve(config: dict) -> None:
    """A learning curve for early-stopping tests: `acc = q * (1 - 0.8 exp(-t / 3))` at iteration t,
    one report each, up to `epochs` (default 9); flat from `plateau_at` on when given. Curves
    never cross (the order of `q` holds at every t), so a scheduler that keeps the best trial
    lets the config with the highest `q` run to the end. Deterministic per config, no sleeps;
    a paused or retried trial resumes from its checkpoint (`orchestrator.trial`)."""
    import math

    from orchestrator import trial

    state = trial.restore() or {"iteration": 0}
    q, plateau_at = float(config["q"]), config.get("plateau_at")
    for t in range(state["iteration"] + 1, config.get("epochs", 9) + 1):
        shaped = min(t, plateau_at) if plateau_at else t
        trial.report({"acc": q * (1 - 0.8 * math.exp(-shaped / 3)), "resumed_from": state["iteration"]},
                     state={"iteration": t})
