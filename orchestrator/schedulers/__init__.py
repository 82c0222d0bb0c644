"""Early stopping from the spec: ASHA, HyperBand, median stopping, and stop conditions."""
from __future__ import annotations

from ray.tune.schedulers import (
    ASHAScheduler, FIFOScheduler, HyperBandScheduler, MedianStoppingRule, TrialScheduler,
)
from ray.tune.stopper import CombinedStopper, MaximumIterationStopper, Stopper

from orchestrator.schedulers.stoppers import PlateauStopper, ThresholdStopper
from orchestrator.spec import Spec

TIME_ATTR = "training_iteration"  # schedulers count reported iterations (epochs)


def build_scheduler(spec: Spec) -> TrialScheduler:
    """The trial scheduler for `early_stopping.method`; metric and mode come from TuneConfig."""
    es = spec.early_stopping
    if es.method == "asha":
        return ASHAScheduler(time_attr=TIME_ATTR, max_t=es.max_t, grace_period=es.grace_period,
                             reduction_factor=es.reduction_factor, brackets=es.brackets)
    if es.method == "hyperband":
        return HyperBandScheduler(time_attr=TIME_ATTR, max_t=es.max_t,
                                  reduction_factor=es.reduction_factor)
    if es.method == "median":
        return MedianStoppingRule(time_attr=TIME_ATTR, grace_period=es.grace_period,
                                  min_samples_required=es.min_samples_required)
    return FIFOScheduler()


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
