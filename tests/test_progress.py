"""The live progress view: its text as snapshots, quiet mode, in-place redrawing, pickling."""
from __future__ import annotations

import io
import pickle
import sys
from types import SimpleNamespace

from orchestrator.redaction import REDACTED
from orchestrator.report.progress import ProgressState, ProgressView, hms, render_event, render_live


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def trial(trial_id: str, status: str = "RUNNING", **config) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, status=status, config=config, error_msg=None)


def play(view: ProgressView, clock: FakeClock) -> list[SimpleNamespace]:
    """Four trials of a sweep of 6 with max_t=4: t1 runs out its budget, t2 is stopped early by the
    scheduler, t3 fails, t4 is still running; two more are not created yet. Ray's order of calls:
    on_trial_complete comes while the trial's status still says RUNNING."""
    t1, t2, t3, t4 = (trial("t1", x=1.5, model={"name": "svc", "C": 0.5}, api_key="sk-1", epochs=4),
                      trial("t2", x=4.0, model={"name": "knn", "k": 3}, api_key="sk-1", epochs=4),
                      trial("t3", x=2.0, model={"name": "svc", "C": 9.0}, api_key="sk-1", epochs=4),
                      trial("t4", "PENDING", x=3.0, model={"name": "knn", "k": 7}, api_key="sk-1", epochs=4))
    trials = [t1, t2, t3, t4]
    clock.now += 10
    view.on_trial_result(1, trials, t1, {"score": 0.61, "training_iteration": 1, "done": False})
    view.on_trial_result(1, trials, t2, {"score": 0.42, "training_iteration": 1, "done": True})
    view.on_trial_complete(1, trials, t2)           # ASHA's STOP: done=True before max_t
    t2.status = "TERMINATED"
    view.on_step_end(2, trials)
    clock.now += 20
    for it in (2, 3, 4):
        view.on_trial_result(it, trials, t1, {"score": 0.6 + 0.1 * it, "training_iteration": it,
                                              "done": it == 4})
    view.on_trial_complete(4, trials, t1)           # MaximumIterationStopper at max_t: ran its full budget
    t1.status = "TERMINATED"
    t3.status, t3.error_msg = "ERROR", "ValueError: bad C\n  more lines"
    view.on_trial_error(5, trials, t3)
    t4.status = "RUNNING"
    view.on_step_end(6, trials)
    return trials


def test_live_view_snapshot():
    clock = FakeClock()
    view = ProgressView("score", "max", 6, stream=Terminal(), clock=clock, width=200, max_t=4)
    play(view, clock)
    assert render_live(view.snapshot(), 200) == [
        "[##########..........] trials 3/6 finished · elapsed 0:30, ~0:30 left",
        "pending 2 · running 1 · done 1 · stopped early 1 · failed 1",
        "best score=1 (max), trial t1: x=1.5 model.name=svc model.C=0.5",
    ]


def test_rendering_is_a_pure_function_of_the_state():
    state = ProgressState(metric="val_loss", mode="min", total=None,
                          counts={"pending": 0, "running": 2, "done": 5, "stopped early": 3, "failed": 0},
                          best_value=0.123456789, best_trial="a_00007",
                          best_config={"lr": 0.000123456, "model.name": "mlp", "layers": 3}, elapsed_s=3725.0)
    assert render_live(state, 100) == [
        "trials 8 finished · elapsed 1:02:05",
        "pending 0 · running 2 · done 5 · stopped early 3 · failed 0",
        "best val_loss=0.123457 (min), trial a_00007: lr=0.0001235 model.name=mlp layers=3",
    ]
    assert render_live(state, 40)[2] == "best val_loss=0.123457 (min), trial a_0…"
    assert all(len(line) <= 40 for line in render_live(state, 40))
    assert render_event(state, "a_00009", "stopped early", 0.5, 3) == (
        "[1:02:05] trial a_00009 stopped early at iteration 3: val_loss=0.5 | 8/10 finished, 2 running | "
        "best val_loss=0.123457 (min), trial a_00007")
    empty = ProgressState(metric="acc", mode="max", total=4)
    assert render_live(empty)[0] == "[....................] trials 0/4 finished · elapsed 0:00"
    assert render_live(empty)[2] == "best acc: no result yet"
    assert [hms(59.6), hms(61), hms(None)] == ["1:00", "1:01", "?"]


def test_quiet_mode_prints_one_line_per_finished_trial_and_a_summary():
    clock, out = FakeClock(), io.StringIO()      # not a terminal: quiet by itself
    view = ProgressView("score", "max", 6, stream=out, clock=clock, max_t=4)
    assert not view.live
    trials = play(view, clock)
    view.on_experiment_end(trials)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[0:10] trial t2 stopped early at iteration 1: score=0.42 | 1/6 finished, 2 running | "
        "best score=0.61 (max), trial t1",
        "[0:30] trial t1 done at iteration 4: score=1 | 2/6 finished, 1 running | best score=1 (max), trial t1",
        "[0:30] trial t3 failed: score=- (more lines) | 3/6 finished, 0 running | best score=1 (max), trial t1",
        "[0:30] sweep ended: pending 2, running 1, done 1, stopped early 1, failed 1 | "
        "best score=1 (max), trial t1: x=1.5 model.name=svc model.C=0.5",
    ]
    assert "\033" not in out.getvalue()
    assert ProgressView("score", "max", 6, stream=Terminal(), quiet=True).live is False


def test_live_mode_redraws_the_same_lines_in_place():
    clock, out = FakeClock(), Terminal()
    view = ProgressView("score", "max", 6, stream=out, clock=clock, refresh_s=0.0, width=100)
    trials = play(view, clock)
    view.on_experiment_end(trials)
    text = out.getvalue()
    frames = text.split("\033[3F\033[J")
    assert len(frames) == 3                      # two step ends and the end: the first draws, the others redraw
    assert all(len(frame.splitlines()) == 3 for frame in frames)
    assert "trial t2 stopped early" not in text  # events are for quiet mode


def test_secrets_in_configs_are_never_shown():
    clock, out = FakeClock(), io.StringIO()
    view = ProgressView("score", "max", 2, stream=out, clock=clock)
    t = trial("t1", api_key="sk-live-123", lr=0.1)
    view.on_trial_result(1, [t], t, {"score": 1.0, "training_iteration": 1})
    assert view.snapshot().best_config == {"api_key": REDACTED, "lr": 0.1}
    assert "sk-live" not in "\n".join(render_live(view.snapshot()))


def test_view_pickles_without_its_stream_and_keeps_its_state():
    clock = FakeClock()
    view = ProgressView("score", "max", 6, stream=io.StringIO(), clock=clock)
    play(view, clock)
    copy = pickle.loads(pickle.dumps(view))
    assert copy.stream is sys.stdout
    assert copy.snapshot() == view.snapshot() and copy.longest == 4 and copy.ended == view.ended
    plain = pickle.loads(pickle.dumps(ProgressView("acc", "min", None, stream=io.StringIO())))
    assert (plain.metric, plain.mode, plain.total) == ("acc", "min", None)


def test_without_max_t_a_trial_counts_as_stopped_only_once_another_ran_longer():
    clock, out = FakeClock(), io.StringIO()
    view = ProgressView("score", "max", 2, stream=out, clock=clock)
    a, b = trial("a", x=1), trial("b", x=2)
    view.on_trial_result(1, [a, b], a, {"score": 1.0, "training_iteration": 1, "done": True})
    view.on_trial_complete(1, [a, b], a)
    assert view.snapshot().counts["done"] == 1   # nothing has run longer yet
    for it in (1, 2, 3):
        view.on_trial_result(it, [a, b], b, {"score": 2.0, "training_iteration": it, "done": it == 3})
    view.on_trial_complete(3, [a, b], b)
    counts = view.snapshot().counts
    assert (counts["stopped early"], counts["done"]) == (1, 1)
