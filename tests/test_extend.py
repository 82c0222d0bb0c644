"""Extending a finished sweep: `hpo run SPEC --resume --set search.num_samples=N` runs only the extra trials, the
Bayesian searcher keeps what it was told, and a grid extends by repeats (skipping, when warm-started, the grid points
the earlier sweeps evaluated)."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

from orchestrator.cli.main import main

SPEC = """\
name: {name}
trainable: sweep_trainables:quadratic
metric: score
mode: max
config: {{epochs: 1}}
space: {{x: {{uniform: [0, 6]}}{extra}}}
search: {search}
"""
BAYES_SPEC = SPEC.format(name="ext", extra="", search="{method: bayes, num_samples: 4, seed: 3, max_concurrent: 1, "
                                                       "bayes: {n_initial_points: 3}}")
GRID_SPEC = SPEC.format(name="extgrid", extra=", y: {grid: [-1, 0]}",   # max_concurrent 1: one trial actor, quicker
                        search="{method: grid, num_samples: 1, seed: 1, max_concurrent: 1}")


def trials_of(sweep: Path) -> dict[str, str]:
    """trial folder -> its result.json: a trial that ran again would have more rows, with other timestamps."""
    return {p.parent.name: p.read_text() for p in sweep.glob("*/result.json")}


def searcher_observations(sweep: Path) -> list:
    """The observations SkOptSearch saved with the experiment state."""
    [state_file] = sorted(sweep.glob("searcher-state-*.pkl"))[-1:]
    with open(state_file, "rb") as f:
        return pickle.load(f)["_observations"]


def first_run(tmp_path: Path, text: str, name: str) -> tuple[Path, Path, Path, dict[str, str]]:
    """Run the sweep `text` once: its spec file, storage root, folder and trials."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    storage = tmp_path / "runs"
    assert main(["run", str(spec), "--storage", str(storage), "--quiet"]) == 0
    return spec, storage, storage / name, trials_of(storage / name)


def test_extending_a_finished_bayes_sweep_runs_only_the_extra_trials(ray_local, tmp_path, capsys):
    spec, storage, sweep, before = first_run(tmp_path, BAYES_SPEC, "ext")
    assert len(before) == 4 and len(searcher_observations(sweep)) == 4

    assert main(["validate", str(spec), "--storage", str(storage), "--resume",
                 "--set", "search.num_samples=7"]) == 0
    assert "resume: 4 trials stored, 3 new" in capsys.readouterr().out

    assert main(["run", str(spec), "--storage", str(storage), "--quiet", "--resume",
                 "--set", "search.num_samples=7"]) == 0
    after = trials_of(sweep)
    assert len(after) == 7
    assert {name: after[name] for name in before} == before  # the old trials did not run again
    observations = searcher_observations(sweep)
    assert len(observations) == 7  # told the 4 old ones (restored) and the 3 new
    xs = [json.loads((sweep / name / "params.json").read_text())["x"] for name in after]
    assert len(set(xs)) == 7


def test_a_grid_extends_by_repeats_skipping_warm_start_points(ray_local, tmp_path, capsys, monkeypatch):
    """An earlier grid sweep evaluated y = -1 and 0 (x sampled on each); a grid over y = -1, 0, 1 warm-started from it
    runs 1 trial (the outcome check expects 1); extended to 3 repeats it runs 6 more, the old trial not again, still
    skipping the 2 evaluated before (7 of 9)."""
    _, storage, old, _ = first_run(tmp_path, GRID_SPEC, "extgrid")
    spec = tmp_path / "warm-grid.yaml"
    spec.write_text(SPEC.format(name="warmgrid", extra=", y: {grid: [-1, 0, 1]}",
                                search=f"{{method: grid, num_samples: 1, seed: 1, max_concurrent: 1, warm_start: [{old}]}}"))
    capsys.readouterr()
    assert main(["validate", str(spec)]) == 0
    line = "grid search skips 2 of its 3 trials, evaluated there already: 1 to run"
    assert line in capsys.readouterr().out
    assert main(["run", str(spec), "--storage", str(storage), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert line in out and "| 1/1 finished" in out  # the progress view counts the trial left to run, not 3
    before = trials_of(storage / "warmgrid")
    assert [grid_value(storage / "warmgrid" / name) for name in before] == [1]

    from orchestrator.searchers import repeat_skipping

    counted = []   # each count compiles the grid and walks the earlier trials: once per sample count (3 and 1)
    monkeypatch.setattr(repeat_skipping, "planned_skips",
                        lambda *args, planned=repeat_skipping.planned_skips: counted.append(args[2]) or planned(*args))
    assert main(["validate", str(spec), "--storage", str(storage), "--resume", "--set", "search.num_samples=3"]) == 0
    assert "resume: 1 trials stored, 6 new" in capsys.readouterr().out
    assert sorted(counted) == [1, 3]
    monkeypatch.undo()
    assert main(["run", str(spec), "--storage", str(storage), "--quiet", "--resume",
                 "--set", "search.num_samples=3"]) == 0
    assert "grid search skips 2 of its 9 trials, evaluated there already: 7 to run" in capsys.readouterr().out
    after = trials_of(storage / "warmgrid")
    assert len(after) == 7 and {name: after[name] for name in before} == before
    assert sorted(grid_value(storage / "warmgrid" / name) for name in after) == [-1, -1, 0, 0, 1, 1, 1]
    assert main(["run", str(spec), "--storage", str(storage), "--quiet", "--resume",
                 "--set", "search.num_samples=2"]) == 2
    assert "search.num_samples may only grow" in capsys.readouterr().err


def grid_value(trial: Path) -> int:
    """The trial's `y`, the grid parameter."""
    return json.loads((trial / "params.json").read_text())["y"]
