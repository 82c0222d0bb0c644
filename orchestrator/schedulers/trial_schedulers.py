"""The builders the `SCHEDULERS` table names: one Ray Tune trial scheduler per early-stopping
method, from the spec's checked parameters (metric and mode come from TuneConfig)."""
from __future__ import annotations

import math

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule

from orchestrator.spec import Spec

TIME_ATTR = "training_iteration"  # schedulers count reported iterations (epochs)


def build_asha(spec: Spec) -> ASHAScheduler:
    es = spec.early_stopping
    return ASHAScheduler(time_attr=TIME_ATTR, max_t=es.max_t, grace_period=es.grace_period,
                         reduction_factor=es.reduction_factor, brackets=es.brackets)


def build_median(spec: Spec) -> MedianStoppingRule:
    """max_t is the per-trial cap (a stopper, see `build_stopper`), not a parameter of the rule.
    An infinite `min_time_slice` means the rule never pauses a trial: with too few others to
    compare with it lets the trial go on (it compares with finished trials too, so it prunes
    one trial at a time) instead of pausing it for a trial a concurrency limit may never start."""
    es = spec.early_stopping
    return MedianStoppingRule(time_attr=TIME_ATTR, grace_period=es.grace_period,
                              min_samples_required=es.min_samples_required, min_time_slice=math.inf)


def median_note(spec: Spec) -> str:
    """What `hpo validate` says about median stopping at this sweep's concurrency."""
    return (f"never pauses a trial: until {spec.early_stopping.min_samples_required} other trials "
            f"(running or finished) reached an iteration, a trial there goes on")


def build_fifo(spec: Spec) -> FIFOScheduler:
    """No early stopping: trials run until max_t or a stop condition (see `build_stopper`)."""
    return FIFOScheduler()
