"""The builders the `SCHEDULERS` table names: one Ray Tune trial scheduler per early-stopping
method, from the spec's checked parameters (metric and mode come from TuneConfig)."""
from __future__ import annotations

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, HyperBandScheduler, MedianStoppingRule

from orchestrator.spec import Spec

TIME_ATTR = "training_iteration"  # schedulers count reported iterations (epochs)


def build_asha(spec: Spec) -> ASHAScheduler:
    es = spec.early_stopping
    return ASHAScheduler(time_attr=TIME_ATTR, max_t=es.max_t, grace_period=es.grace_period,
                         reduction_factor=es.reduction_factor, brackets=es.brackets)


def build_hyperband(spec: Spec) -> HyperBandScheduler:
    es = spec.early_stopping
    return HyperBandScheduler(time_attr=TIME_ATTR, max_t=es.max_t, reduction_factor=es.reduction_factor)


def build_median(spec: Spec) -> MedianStoppingRule:
    """max_t is the per-trial cap (a stopper, see `build_stopper`), not a parameter of the rule."""
    es = spec.early_stopping
    return MedianStoppingRule(time_attr=TIME_ATTR, grace_period=es.grace_period,
                              min_samples_required=es.min_samples_required)


def build_fifo(spec: Spec) -> FIFOScheduler:
    """No early stopping: trials run until max_t or a stop condition (see `build_stopper`)."""
    return FIFOScheduler()
