"""Choosing the sweep's best trial and its best checkpoint from Ray Tune's results."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ray.tune import Checkpoint, ResultGrid


@dataclass(frozen=True)
class BestChoice:
    """The best reported value of the sweep, the trial that reported it, and its checkpoint."""

    trial_id: str
    config: dict[str, Any]
    metric_value: float
    iteration: int | None
    checkpoint: Checkpoint | None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def select_best(results: ResultGrid, metric: str, mode: str) -> BestChoice | None:
    """Best checkpoint by metric over all trials (the best-validation epoch, not the last);
    when no trial checkpointed, the best reported row. None when nothing finite was reported."""
    sign = 1.0 if mode == "max" else -1.0
    best: BestChoice | None = None
    best_score = -math.inf
    for result in results:
        if result.metrics is None:
            continue
        trial_id = result.metrics.get("trial_id", "")
        candidates: list[tuple[Checkpoint | None, dict]] = list(result.best_checkpoints or [])
        if not candidates and result.metrics_dataframe is not None and metric in result.metrics_dataframe:
            candidates = [(None, row) for row in result.metrics_dataframe.to_dict("records")]
        for checkpoint, row in candidates:
            value = row.get(metric)
            if _finite(value) and sign * value > best_score:
                best_score = sign * value
                iteration = row.get("training_iteration")
                best = BestChoice(trial_id=str(row.get("trial_id", trial_id)), config=dict(result.config or {}),
                                  metric_value=float(value),
                                  iteration=int(iteration) if _finite(iteration) else None,
                                  checkpoint=checkpoint)
    return best
