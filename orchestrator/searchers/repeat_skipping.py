"""Grid and random search that skip what earlier sweeps evaluated (`search.warm_start`): random search draws again
when a draw repeats an earlier trial's config, so the sweep still runs `num_samples` trials; grid search leaves out
one repeat of a grid point per earlier trial on it (`planned_skips` says how many trials that removes, beforehand)."""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping

from ray.tune.search.basic_variant import BasicVariantGenerator

from orchestrator.space.fit import DoesNotFit, fit_config, repeat_key
from orchestrator.spec.space_model import Nested

MAX_REDRAWS = 100   # random search over a small finite space may have no unseen point left: then a repeat runs


class RepeatSkippingGenerator(BasicVariantGenerator):
    """Ray's variant generator, told the configs of earlier trials through `skip_repeats_of`. Its state (the earlier
    points, what was skipped) is saved and restored with the experiment, so a resumed sweep skips the same."""

    def __init__(self, space: Nested | None = None, *, grid: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._space, self._grid = space or Nested({}), grid
        self._earlier: Counter[str] = Counter()   # repeat key -> earlier trials on it
        self._skipped: Counter[str] = Counter()   # repeat key -> trials of this sweep left out for it
        self.redrawn = 0                           # random search: draws that repeated an earlier trial

    def skip_repeats_of(self, configs: Iterable[Mapping[str, Any]]) -> None:
        """Earlier trials' configs, fitted to this space (`orchestrator.space.fit.fit_config`)."""
        self._earlier.update(repeat_key(self._space, config, grid=self._grid) for config in configs)

    @property
    def skipped(self) -> int:
        """Grid search: the trials left out so far."""
        return sum(self._skipped.values())

    def next_trial(self) -> Any:
        redraws = 0
        while True:
            trial = super().next_trial()
            key = self._repeat_of(trial.config) if trial is not None else None
            if key is None or (not self._grid and redraws == MAX_REDRAWS):
                return trial
            self._live_trials.discard(trial.trial_id)
            if self._grid:
                self._skipped[key] += 1
            else:                       # one more draw in place of this one
                self._iterators[-1].num_samples_left += 1
                self.redrawn, redraws = self.redrawn + 1, redraws + 1

    def _repeat_of(self, config: Mapping[str, Any]) -> str | None:
        """The config's repeat key when it is to be skipped, else None."""
        if not self._earlier:
            return None
        try:
            key = repeat_key(self._space, fit_config(self._space, config), grid=self._grid)
        except DoesNotFit:
            return None
        if self._grid:
            return key if self._skipped[key] < self._earlier[key] else None
        return key if key in self._earlier else None


def planned_skips(space: Nested, configs: Iterable[Mapping[str, Any]], repeats: int) -> int:
    """How many trials grid search over `space` with `repeats` repeats (`num_samples`) leaves out for the earlier
    trials' fitted `configs`: per grid point, as many as earlier trials are on it, at most `repeats`."""
    earlier = Counter(repeat_key(space, config, grid=True) for config in configs)
    return sum(min(count, repeats) for count in earlier.values())
