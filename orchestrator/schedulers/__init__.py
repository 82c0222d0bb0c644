"""Early stopping from the spec: ASHA, HyperBand, median stopping, and stop conditions."""
from __future__ import annotations

from ray.tune.schedulers import TrialScheduler
from ray.tune.stopper import CombinedStopper, MaximumIterationStopper, Stopper

from orchestrator.extensions.schedulers import SCHEDULERS
from orchestrator.schedulers.stoppers import PlateauStopper, ThresholdStopper
from orchestrator.spec import Spec


def build_scheduler(spec: Spec) -> TrialScheduler:
    """The trial scheduler of `early_stopping.method`, through its `SCHEDULERS` entry."""
    return SCHEDULERS[spec.early_stopping.method].build(spec)


def build_stopper(spec: Spec) -> Stopper | None:
    """Per-trial stops: the `max_t` iteration cap, a metric threshold, a plateau."""
    es = spec.early_stopping
    stoppers: list[Stopper] = []
    if es.max_t is not None:
        stoppers.append(MaximumIterationStopper(es.max_t))
    if es.stop.metric_threshold is not None:
        stoppers.append(ThresholdStopper(spec.metric, spec.mode, es.stop.metric_threshold))
    if es.stop.plateau_patience is not None:
        stoppers.append(PlateauStopper(spec.metric, spec.mode, es.stop.plateau_patience,
                                       es.stop.plateau_min_delta))
    if not stoppers:
        return None
    return stoppers[0] if len(stoppers) == 1 else CombinedStopper(*stoppers)


__all__ = ["PlateauStopper", "ThresholdStopper", "build_scheduler", "build_stopper"]
