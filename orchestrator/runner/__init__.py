"""Running sweeps: Ray session, Tuner assembly, live progress, choosing the best."""
from orchestrator.runner.sweep import SweepResult, run_sweep

__all__ = ["SweepResult", "run_sweep"]
