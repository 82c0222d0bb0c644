"""`early_stopping.method: median`: the median stopping rule of Vizier (Golovin et al. 2017), compared
with the trials still allowed to run.

The rule (Ray's `MedianStoppingRule`, as Vizier states it): at iteration t >= grace_period, a trial
stops when its best value so far is worse than the median of the other trials' running means
(the mean of what each reported from grace_period to t), over at least `min_samples_required`
trials that reached t. Ray takes that median over every trial that reached t, those the rule
stopped included: each stop puts a poor curve in the pool and lowers the median, so the rule
grows laxer the more it stops, and a sweep of many poor trials prunes little (about half of the
trials ran to max_t in `benchmarks/early_stopping.py`, 59-62% of the epochs of no stopping). Here
the median is over the trials the rule has not stopped (running or finished), as Optuna's
`MedianPruner` leaves pruned trials out of its median. Replayed on the benchmark's
recorded curves (`benchmarks/early_stopping_replay.py`) this cut the epochs from 51-55% to 40% of
no stopping's, and lost the best trial less often (15% of replays lost more than half a point, against 20-25%).

It never pauses a trial (`min_time_slice=inf`): with too few others to compare with, a trial goes
on instead of waiting for trials a concurrency limit may never start; since finished trials count,
it prunes one trial at a time too.
"""
from __future__ import annotations

import math
from typing import Any

from ray.tune.schedulers import MedianStoppingRule

from orchestrator.schedulers.trial_schedulers import TIME_ATTR
from orchestrator.spec import Spec


class MedianOfUnstopped(MedianStoppingRule):
    """Ray's median stopping rule whose median leaves out the trials it stopped (see the module)."""

    def _trials_beyond_time(self, time: float) -> list[Any]:
        return [trial for trial in super()._trials_beyond_time(time) if trial not in self._stopped_trials]


def build_median(spec: Spec) -> MedianOfUnstopped:
    """max_t is the per-trial cap (a stopper, see `build_stopper`), not a parameter of the rule."""
    es = spec.early_stopping
    return MedianOfUnstopped(time_attr=TIME_ATTR, grace_period=es.grace_period,
                             min_samples_required=es.min_samples_required, min_time_slice=math.inf)


def median_note(spec: Spec) -> str:
    """What `hpo validate` says about median stopping: what it compares, and that it never pauses."""
    es = spec.early_stopping
    return (f"from iteration {es.grace_period} on, stops a trial whose best is below the median of the "
            f"running means of the trials it has not stopped; never pauses a trial: until "
            f"{es.min_samples_required} such trials (running or finished) reached an iteration, a trial there goes on")
