"""Sweeps started before classes moved between modules keep resuming: their tuner.pkl names the old paths."""
from __future__ import annotations

import pickle


def _as_if_pickled_from(obj: object, old_module: str) -> bytes:
    new_module = type(obj).__module__
    assert len(new_module) == len(old_module)  # the pickle's length prefixes stay valid
    return pickle.dumps(obj).replace(new_module.encode(), old_module.encode())


def test_progress_view_unpickles_from_the_runner_path() -> None:
    from orchestrator.report.progress import ProgressView

    restored = pickle.loads(_as_if_pickled_from(ProgressView("score", "max", 3), "orchestrator.runner.progress"))
    assert isinstance(restored, ProgressView) and restored.state.total == 3


def test_trial_name_unpickles_from_the_sweep_module() -> None:
    from orchestrator.runner.tuner import TrialName

    restored = pickle.loads(_as_if_pickled_from(TrialName("demo"), "orchestrator.runner.sweep"))
    assert restored == TrialName("demo")
