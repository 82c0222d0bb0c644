"""Failing trials and interrupted drivers lose no finished work (issue 7)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.cli.main import main

FLAKY = """\
name: {name}
trainable: sweep_trainables:flaky
metric: score
mode: max
config: {config}
space:
  x: {{grid: [0.0, 0.5]}}
search: {{method: grid}}
failures: {failures}
storage: {storage}
"""


def write_spec(tmp_path: Path, name: str, config: dict, failures: dict | None = None) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(FLAKY.format(name=name, config=json.dumps(config), storage=tmp_path / "runs",
                                 failures=json.dumps(failures or {"max_failures": 2})))
    return path


def results_of(sweep: Path) -> dict[str, list[dict]]:
    """trial folder -> its result rows."""
    return {d.name: [json.loads(l) for l in (d / "result.json").read_text().splitlines() if l.strip()]
            for d in sweep.iterdir() if (d / "result.json").exists()}


@pytest.mark.parametrize("fault", ["raise", "nan", "exit", "sigkill"])
def test_a_failing_trial_is_retried_from_its_checkpoint(ray_local, tmp_path, capsys, fault):
    spec = write_spec(tmp_path, f"retry-{fault}", {"epochs": 3, "fault": fault, "fail_at": 2,
                                                   "once_marker": str(tmp_path / "marker")})
    assert main(["run", str(spec), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "trials: 2, failed: 0" in out
    rows = results_of(tmp_path / "runs" / f"retry-{fault}")
    assert len(rows) == 2
    assert all(r["score"] == r["training_iteration"] + r["config"]["x"] for rs in rows.values() for r in rs)
    # the trial that failed went on from its epoch-1 checkpoint, not from scratch
    resumed = [r for rs in rows.values() for r in rs if r["resumed_from"] == 1]
    assert resumed and all(r["training_iteration"] >= 2 for r in resumed)
    assert max(r["score"] for rs in rows.values() for r in rs) == pytest.approx(3.5)


def test_a_trial_that_keeps_failing_is_listed_and_the_sweep_goes_on(ray_local, tmp_path, capsys):
    spec = write_spec(tmp_path, "nan", {"epochs": 3, "fault": "nan", "fail_at": 2}, {"max_failures": 1})
    code = main(["run", str(spec), "--quiet", "--set", "space.x.grid=[0.0]",
                 "--set", "space.fault={grid: [none, nan]}", "--set", "config={epochs: 3, fail_at: 2}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "trials: 2, failed: 1" in out
    assert "metric 'score' is nan (not finite)" in out
    manifest = json.loads((tmp_path / "runs" / "nan" / "best" / "best.json").read_text())
    assert manifest["config"]["fault"] == "none" and manifest["metric_value"] == 3.0


def test_a_hanging_trial_is_ended_by_its_timeout_and_retried(ray_local, tmp_path, capsys):
    spec = write_spec(tmp_path, "hang", {"epochs": 3, "fault": "hang", "fail_at": 2,
                                         "once_marker": str(tmp_path / "marker")},
                      {"max_failures": 1, "trial_timeout_s": 4})
    started = time.monotonic()
    assert main(["run", str(spec), "--quiet", "--set", "space.x.grid=[0.0]"]) == 0
    assert time.monotonic() - started < 120
    assert "trials: 1, failed: 0" in capsys.readouterr().out


def test_every_trial_failing_exits_nonzero_with_the_common_error(ray_local, tmp_path, capsys):
    spec = write_spec(tmp_path, "allfail", {"epochs": 3, "fault": "raise", "fail_at": 1}, {"max_failures": 0})
    code = main(["run", str(spec), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("hpo: error: all 2 trials failed") and "boom at epoch 1" in err
    assert "\n" not in err


def test_a_metric_never_reported_is_named_with_what_was_reported(ray_local, tmp_path, capsys):
    spec = write_spec(tmp_path, "nometric", {"epochs": 3, "fault": "wrong_metric"}, {"max_failures": 0})
    code = main(["run", str(spec), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "reported no metric 'score'" in err and "loss, other" in err
    assert "\n" not in err


def _hpo(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "hpo"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _results_at(location) -> dict[str, list[dict]]:
    """trial folder -> its result rows, read through the storage's pyarrow filesystem."""
    import pyarrow.fs as pafs

    fs, found = location.filesystem, {}
    try:
        entries = fs.get_file_info(pafs.FileSelector(location.path, recursive=False))
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.type != pafs.FileType.Directory:
            continue
        try:
            with fs.open_input_stream(f"{entry.path}/result.json") as f:
                text = f.read().decode()
        except (FileNotFoundError, OSError):
            continue
        found[entry.base_name] = [json.loads(l) for l in text.splitlines() if l.strip()]
    return found


# Each storage once and each way of stopping once (a Ray start per driver makes each case ~40 s).
@pytest.mark.parametrize("backend,stop", [("local", "SIGKILL"), ("s3", "SIGINT")])
def test_stopped_driver_resumes_without_losing_finished_trials(tmp_path, request, backend, stop):
    """A driver killed with SIGKILL (or stopped by Ctrl-C) mid-sweep; `--resume` completes it:
    finished trials are not run again, and the sweep still has exactly num_samples trials."""
    from orchestrator.storage import resolve_storage

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    if backend == "s3":
        endpoint = request.getfixturevalue("s3_server")
        storage = f"s3://{request.getfixturevalue('make_bucket')()}/sweeps"
        env["AWS_ENDPOINT_URL"] = endpoint
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        request.addfinalizer(lambda: os.environ.pop("AWS_ENDPOINT_URL", None))
    else:
        storage = str(tmp_path / "runs")
    spec = tmp_path / "long.yaml"
    spec.write_text(f"""\
name: long
trainable: sweep_trainables:flaky
metric: score
mode: max
config: {{epochs: 4, sleep: 0.5}}
space:
  x: {{uniform: [0, 1]}}
search: {{method: random, num_samples: 6, seed: 3, max_concurrent: 2}}
storage: {storage}
""")
    sweep = resolve_storage(storage).join("long")

    def finished() -> dict[str, int]:
        return {name: len(rows) for name, rows in _results_at(sweep).items()
                if rows and rows[-1]["training_iteration"] == 4}

    proc = _hpo("run", str(spec), "--quiet", env=env)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(finished()) < 2:
        time.sleep(0.5)
    if stop == "SIGKILL":
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    else:  # Ctrl-C: Ray Tune saves the state; we exit 130 naming the resume command
        os.kill(proc.pid, signal.SIGINT)
        said, _ = proc.communicate(timeout=120)
        assert proc.returncode == 130, said
        assert said.strip().splitlines()[-1] == (
            f"hpo: error: interrupted; the sweep's state is saved in {sweep.display}. "
            f"Resume with: hpo run {spec} --resume")
    done_before = finished()
    assert len(done_before) >= 2
    resumed = _hpo("run", str(spec), "--quiet", "--resume", env=env)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    rows = _results_at(sweep)
    assert len(rows) == 6, output
    for name, count in done_before.items():
        assert len(rows[name]) == count, f"finished trial {name} ran again"
    if backend == "local":
        assert all(rs[-1]["training_iteration"] == 4 for rs in rows.values())
    # On S3, result.json rows reach the bucket with Ray's periodic artifact sync, so the rows of
    # a trial that ended in the seconds before the SIGKILL can be missing there; the trial itself
    # is done (not rerun) and counted in best.json.
    with sweep.filesystem.open_input_stream(f"{sweep.path}/best/best.json") as f:
        assert json.loads(f.read())["num_trials"] == 6


def test_resume_with_a_changed_metric_is_refused(ray_local, tmp_path, capsys):
    spec = write_spec(tmp_path, "change", {"epochs": 1})
    assert main(["run", str(spec), "--quiet", "--set", "space.x.grid=[0.0]"]) == 0
    capsys.readouterr()
    code = main(["run", str(spec), "--quiet", "--resume", "--set", "space.x.grid=[0.0]", "--set", "mode=min"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "mode changed since the sweep started" in err
    # a harmless change is allowed
    assert main(["run", str(spec), "--quiet", "--resume", "--set", "space.x.grid=[0.0]",
                 "--set", "time_budget_s=100"]) == 0
