"""Live progress of a sweep: trials by outcome, the best result so far with its config, time spent and left.

On a terminal a few lines are redrawn in place; in quiet mode (`--quiet`, or automatically when the
output is not a terminal, e.g. a log file or a Ray job) one line is printed per finished trial and one
at the end. What is shown is a pure function of a `ProgressState` (`render_live`, `render_event`),
so that it can be checked as text. `orchestrator.api.run_sweep` hands the view to the runner as a Ray
Tune callback.
"""
from __future__ import annotations

import math
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, TextIO

from ray.tune import Callback

from orchestrator.redaction import redact
from orchestrator.report import outcomes
from orchestrator.report.configs import flatten
from orchestrator.runner.trial_errors import last_error_line

# tuner.pkl of a sweep started before this module moved here from the runner names its classes by the old path;
# resuming that sweep unpickles them from there.
sys.modules.setdefault("orchestrator.runner.progress", sys.modules[__name__])

BAR_WIDTH = 20
DEFAULT_WIDTH = 120         # when the terminal's width cannot be read
_UP_AND_CLEAR = "\033[{n}F\033[J"  # cursor up n lines to column 0, clear to the end of the screen


@dataclass
class ProgressState:
    """Everything the view shows."""

    metric: str
    mode: str
    total: int | None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(outcomes.OUTCOMES, 0))
    best_value: float | None = None
    best_trial: str | None = None
    best_config: dict[str, Any] = field(default_factory=dict)   # flattened, redacted, only what varies
    elapsed_s: float = 0.0

    @property
    def finished(self) -> int:
        return sum(self.counts.get(o, 0) for o in outcomes.FINISHED)

    @property
    def known(self) -> int:
        """Trials the sweep will run, as far as is known now (the spec's count, or the trials seen)."""
        return max(self.total or 0, sum(self.counts.values()))

    @property
    def remaining_s(self) -> float | None:
        """Time left if trials keep ending at the rate they have so far; None before the first ends."""
        if not self.total or not self.finished or self.finished >= self.known:
            return None
        return max(0.0, (self.known - self.finished) * self.elapsed_s / self.finished)


def hms(seconds: float | None) -> str:
    """`h:mm:ss` (or `m:ss` under an hour); `?` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(1, width - 1)] + "…"


def _bar(done: int, total: int) -> str:
    filled = int(BAR_WIDTH * done / total) if total else 0
    return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"


def _best_text(state: ProgressState, with_config: bool) -> str:
    if state.best_value is None:
        return f"best {state.metric}: no result yet"
    text = f"best {state.metric}={state.best_value:.6g} ({state.mode}), trial {state.best_trial}"
    if with_config and state.best_config:
        text += ": " + " ".join(f"{k}={_short(v)}" for k, v in state.best_config.items())
    return text


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _timing(state: ProgressState) -> str:
    left = state.remaining_s
    return f"elapsed {hms(state.elapsed_s)}" + (f", ~{hms(left)} left" if left is not None else "")


def render_live(state: ProgressState, width: int = DEFAULT_WIDTH) -> list[str]:
    """The lines of the in-place view, each cut to `width` so that none wraps (wrapping breaks redrawing)."""
    known = state.known
    head = f"trials {state.finished}/{known} finished" if state.total else f"trials {state.finished} finished"
    if state.total:
        head = f"{_bar(state.finished, known)} {head}"
    counts = " · ".join(f"{o} {state.counts.get(o, 0)}" for o in outcomes.OUTCOMES)
    lines = [f"{head} · {_timing(state)}", counts, _best_text(state, with_config=True)]
    return [_fit(line, width) for line in lines]


def render_event(state: ProgressState, trial_id: str, outcome: str, value: float | None,
                 iteration: int | None, error: str | None = None) -> str:
    """The quiet-mode line for one trial that just ended (with its error's last line if it failed)."""
    at = f" at iteration {iteration}" if iteration else ""
    shown = f"{state.metric}={value:.6g}" if value is not None else f"{state.metric}=-"
    if error:
        shown += f" ({error})"
    return (f"[{hms(state.elapsed_s)}] trial {trial_id} {outcome}{at}: {shown} | "
            f"{state.finished}/{state.known} finished, {state.counts.get(outcomes.RUNNING, 0)} running | "
            f"{_best_text(state, with_config=False)}")


def render_summary(state: ProgressState) -> str:
    """The quiet-mode line at the end of the sweep."""
    counts = ", ".join(f"{o} {state.counts[o]}" for o in outcomes.OUTCOMES if state.counts.get(o))
    return f"[{hms(state.elapsed_s)}] sweep ended: {counts or 'no trials'} | {_best_text(state, with_config=True)}"


class ProgressView(Callback):
    """Ray Tune callback that keeps a `ProgressState` up to date and shows it, live or quiet."""

    def __init__(self, metric: str, mode: str, total: int | None, *, stream: TextIO | None = None,
                 quiet: bool | None = None, refresh_s: float = 0.5, max_t: int | None = None,
                 clock: Callable[[], float] = time.monotonic, width: int | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = not quiet if quiet is not None else _is_terminal(self.stream)
        self.refresh_s, self.max_t, self.clock, self.width = refresh_s, max_t, clock, width
        self.state = ProgressState(metric=metric, mode=mode, total=total)
        self.started = clock()
        self.last: dict[str, tuple[bool, int | None, float | None]] = {}  # trial -> (done flag, iteration, value)
        self.ended: dict[str, str] = {}                                  # trial -> TERMINATED or ERROR
        self.longest = 0                                                 # most iterations any trial reported
        self.failed: dict[str, str] = {}                                 # trial -> first line of its error
        self.values: dict[str, set[str]] = {}                            # config key -> values seen
        self.configs_seen: set[str] = set()                              # trials whose config is in `values`
        self._best_full: dict[str, Any] = {}
        self._drawn = 0
        self._last_draw = -math.inf

    # Ray pickles callbacks with the experiment state; a stream cannot be pickled.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["stream"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.stream = sys.stdout

    @property
    def metric(self) -> str:
        return self.state.metric

    @property
    def mode(self) -> str:
        return self.state.mode

    @property
    def total(self) -> int | None:
        return self.state.total

    def expect_trials(self, total: int) -> None:
        """The runner's count of trials to run, once it is known (a warm start can leave grid points out)."""
        self.state.total = total

    # --- Ray Tune hooks --------------------------------------------------------------------------------------------

    def setup(self, **info: Any) -> None:
        """The sweep starts now (the view may have been made before Ray started): time it from here."""
        self.started = self.clock()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        value = result.get(self.metric)
        finite = float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
        at = result.get("training_iteration")
        self.last[trial.trial_id] = (bool(result.get("done")), at, finite)
        self.longest = max(self.longest, at if isinstance(at, int) else 0)
        config = self._config_of(trial)
        if finite is not None and self._better(finite):
            self.state.best_value, self.state.best_trial, self._best_full = finite, trial.trial_id, config
        self.state.best_config = self._varying(self._best_full)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended(trial, trials, "TERMINATED")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.failed[trial.trial_id] = last_error_line(trial)
        self._ended(trial, trials, "ERROR")

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.ended.pop(trial.trial_id, None)  # it runs again

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        self._update(trials)
        if self.live and self.clock() - self._last_draw >= self.refresh_s:
            self._draw()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._update(trials)
        if self.live:
            self._draw()
        else:
            self._write(render_summary(self.state) + "\n")

    # --- internals ---------------------------------------------------------------------------------------------------

    def _better(self, value: float) -> bool:
        best = self.state.best_value
        return best is None or (value > best if self.mode == "max" else value < best)

    def _config_of(self, trial: Any) -> dict[str, Any]:
        """The trial's config, flattened and redacted; its values are noted to tell constants from parameters."""
        config = flatten(redact(dict(getattr(trial, "config", None) or {})))
        if trial.trial_id not in self.configs_seen:
            self.configs_seen.add(trial.trial_id)
            for key, value in config.items():
                self.values.setdefault(key, set()).add(repr(value))
        return config

    def _varying(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config without the keys every trial so far shares (the spec's constants)."""
        if len(self.configs_seen) < 2:
            return dict(config)
        return {k: v for k, v in config.items() if len(self.values.get(k, ())) > 1}

    def _cap(self) -> int | None:
        """The iteration budget a trial that ran in full reached: `max_t` if given, else (a Ray callback
        cannot see the scheduler) the most iterations any trial has reported so far."""
        return self.max_t if self.max_t is not None else (self.longest or None)

    def _outcome(self, trial_id: str, ray_status: str) -> str:
        done, at, _ = self.last.get(trial_id, (False, None, None))
        return outcomes.outcome(self.ended.get(trial_id, ray_status), done, at, self._cap())

    def _ended(self, trial: Any, trials: list, ray_status: str) -> None:
        # Ray calls on_trial_complete while the trial's status still says RUNNING
        self.ended[trial.trial_id] = ray_status
        self._update(trials)
        outcome = self._outcome(trial.trial_id, ray_status)
        if not self.live:
            _, at, value = self.last.get(trial.trial_id, (False, None, None))
            self._write(render_event(self.state, trial.trial_id, outcome, value, at,
                                     self.failed.get(trial.trial_id)) + "\n")

    def _update(self, trials: list) -> None:
        counts = dict.fromkeys(outcomes.OUTCOMES, 0)
        for t in trials:
            self._config_of(t)
            counts[self._outcome(t.trial_id, t.status)] += 1
        # trials the searcher has not created yet are pending too
        counts[outcomes.PENDING] += max(0, (self.total or 0) - sum(counts.values()))
        self.state.counts = counts
        self.state.best_config = self._varying(self._best_full)
        self.state.elapsed_s = self.clock() - self.started

    def _draw(self) -> None:
        width = self.width or max(20, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns - 1)
        lines = render_live(self.state, width)
        up = _UP_AND_CLEAR.format(n=self._drawn) if self._drawn else ""
        self._write(up + "\n".join(lines) + "\n")
        self._drawn = len(lines)
        self._last_draw = self.clock()

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def snapshot(self) -> ProgressState:
        """A copy of the state as it is now (for tests and for callers that render it themselves)."""
        return replace(self.state, counts=dict(self.state.counts), best_config=dict(self.state.best_config))


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
