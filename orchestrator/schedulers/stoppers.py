"""Per-trial stop conditions beside the schedulers: a metric threshold and a plateau."""
from __future__ import annotations

import math
from collections import defaultdict

from ray.tune.stopper import Stopper


class ThresholdStopper(Stopper):
    """Stops a trial once its metric reaches `threshold` (>= for max, <= for min)."""

    def __init__(self, metric: str, mode: str, threshold: float) -> None:
        self.metric, self.sign, self.threshold = metric, (1 if mode == "max" else -1), threshold

    def __call__(self, trial_id: str, result: dict) -> bool:
        value = result.get(self.metric)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        return self.sign * (value - self.threshold) >= 0

    def stop_all(self) -> bool:
        return False


class PlateauStopper(Stopper):
    """Stops a trial after `patience` reports without improving its best by `min_delta`."""

    def __init__(self, metric: str, mode: str, patience: int, min_delta: float = 0.0) -> None:
        self.metric, self.sign = metric, (1 if mode == "max" else -1)
        self.patience, self.min_delta = patience, min_delta
        self.best: dict[str, float] = {}
        self.stale: dict[str, int] = defaultdict(int)

    def __call__(self, trial_id: str, result: dict) -> bool:
        value = result.get(self.metric)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        score = self.sign * value
        if trial_id not in self.best or score > self.best[trial_id] + self.min_delta:
            self.best[trial_id] = score
            self.stale[trial_id] = 0
            return False
        self.stale[trial_id] += 1
        return self.stale[trial_id] >= self.patience

    def stop_all(self) -> bool:
        return False
