"""The builders the `SCHEDULERS` table names for asha and none, from the spec's checked parameters
(metric and mode come from TuneConfig); hyperband and median have modules of their own."""
from __future__ import annotations

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

from orchestrator.spec import Spec

TIME_ATTR = "training_iteration"  # schedulers count reported iterations (epochs)


def build_asha(spec: Spec) -> ASHAScheduler:
    es = spec.early_stopping
    return ASHAScheduler(time_attr=TIME_ATTR, max_t=es.max_t, grace_period=es.grace_period,
                         reduction_factor=es.reduction_factor, brackets=es.brackets)


def build_fifo(spec: Spec) -> FIFOScheduler:
    """No early stopping: trials run until max_t or a stop condition (see `build_stopper`)."""
    return FIFOScheduler()
