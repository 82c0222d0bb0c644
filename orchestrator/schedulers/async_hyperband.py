"""`early_stopping.method: hyperband` runs as asynchronous HyperBand (Li et al. 2020, "A System
for Massively Parallel Hyperparameter Tuning"): Ray's ASHA with one bracket per HyperBand bracket.

Why always, not only under a concurrency limit: Ray's synchronous `HyperBandScheduler` fills a
bracket only from trials alive at once and pauses each at its rung until the bracket is full.
When the searcher's `max_concurrent` or the resources keep fewer trials alive than a bracket
holds, no bracket fills and nothing is ever stopped (ray-project/ray#12536); without a limit a
paused trial can be left that nothing resumes, and the sweep hangs (#26529). Whether a bracket
can fill depends on the cluster's free resources at run time, which `hpo validate` cannot know.
Asynchronous HyperBand keeps the brackets (grace periods 1, eta, eta^2, ... up to max_t) but
promotes a trial as soon as it is in the top 1/eta of those that reached its rung so far: it
never pauses a trial and prunes at any concurrency, one trial at a time included.

Defaults (measured by replaying `benchmarks/early_stopping.py`'s recorded curves, then by the
benchmark itself; see benchmarks/README.md): reduction_factor 4, and HyperBand's brackets but its
last one. The last bracket's grace period is eta^s_max, the largest power of eta up to max_t: it is
the random-search hedge against early values that mislead, and the one that trains most per
trial. Li et al. (2018) found the most aggressive brackets the winners in most of their
experiments, and ASHA (Li et al. 2020) runs the most aggressive alone; asynchronously, each bracket
also lets its first trials through its rungs unopposed, so every bracket costs a few full-length
trials. Replayed on the benchmark's curves (`benchmarks/early_stopping_replay.py`: 4 seeds x 5
trial orders, max_t 27), eta 3 with all brackets trained 39-41% of no stopping's epochs; eta 4 (as
Ray's ASHA; Li et al. suggest 3 or 4) without the last bracket 30-31%, and lost the best trial
less often (35-40% of replays lost more than half a point, against 50%).
All of HyperBand's brackets: `method: asha, grace_period: 1, brackets: N` runs them (its bracket
draw unseeded).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from ray.tune.schedulers import ASHAScheduler

from orchestrator.schedulers.trial_schedulers import TIME_ATTR
from orchestrator.spec import Spec

MIN_T = 1  # HyperBand's smallest budget: one reported iteration


def bracket_count(max_t: int, reduction_factor: float) -> int:
    """HyperBand's s_max + 1: brackets with grace periods 1, eta, ..., eta^s_max <= max_t."""
    return int(math.log(max_t / MIN_T) / math.log(reduction_factor) + 1e-9) + 1


def brackets_run(max_t: int, reduction_factor: float) -> int:
    """The brackets hyperband runs: HyperBand's but the last (see the module docstring); one if it has one."""
    return max(1, bracket_count(max_t, reduction_factor) - 1)


def synchronous_bracket_size(max_t: int, reduction_factor: float) -> int:
    """Trials in the largest bracket of Ray's synchronous HyperBand: what it would need alive."""
    brackets = bracket_count(max_t, reduction_factor)
    return max(math.ceil(brackets / (s + 1) * reduction_factor ** s) for s in range(brackets))


class SeededBrackets(ASHAScheduler):
    """ASHA that draws each new trial's bracket from its own generator, seeded by the search seed
    (Ray draws from numpy's global one): the same sweep puts the same trials in the same brackets."""

    def __init__(self, *, seed: int | None, **asha: Any) -> None:
        super().__init__(**asha)
        self._bracket_rng_state = np.random.RandomState(seed).get_state()

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        outer = np.random.get_state()
        np.random.set_state(self._bracket_rng_state)
        try:
            super().on_trial_add(tune_controller, trial)
            self._bracket_rng_state = np.random.get_state()
        finally:
            np.random.set_state(outer)


def build_hyperband(spec: Spec) -> ASHAScheduler:
    """Asynchronous HyperBand from `max_t` and `reduction_factor` (see the module docstring). Ray's
    ASHA draws a trial's bracket with weight e^(its rungs), so most trials go to the bracket that
    prunes hardest (grace period 1), fewer to each next one."""
    es = spec.early_stopping
    return SeededBrackets(seed=spec.search.seed, time_attr=TIME_ATTR, max_t=es.max_t, grace_period=MIN_T,
                          reduction_factor=es.reduction_factor,
                          brackets=brackets_run(es.max_t, es.reduction_factor))


def variant_note(spec: Spec) -> str:
    """What `hpo validate` says about the variant that runs, and why."""
    es, limit = spec.early_stopping, spec.search.max_concurrent
    brackets, of = brackets_run(es.max_t, es.reduction_factor), bracket_count(es.max_t, es.reduction_factor)
    graces = ", ".join(f"{MIN_T * es.reduction_factor ** s:g}" for s in range(brackets))
    left_out = (f" (HyperBand's last, grace period {MIN_T * es.reduction_factor ** brackets:g}, left out: it stops "
                f"least and the most aggressive brackets usually win)" if of > brackets else "")
    alive = f"at most {limit} trials at once" if limit else "as many trials at once as resources allow"
    shape = f"{brackets} brackets, grace periods {graces}" if brackets > 1 else f"1 bracket, grace period {graces}"
    needs = synchronous_bracket_size(es.max_t, es.reduction_factor)
    return (f"runs as asynchronous HyperBand (Li et al. 2020): ASHA with {shape}{left_out}; it never pauses "
            f"a trial, so it prunes at any concurrency. Not Ray's synchronous HyperBand: its largest bracket "
            f"needs {needs} trials alive at once and this sweep runs {alive}; short of that it stops nothing, "
            f"and a trial it paused can be left behind")
