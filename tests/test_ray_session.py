"""Real machines: a fresh embedded Ray unless `--address` says otherwise, a stale cluster file that never delays a
run, phase timings in hpo.log and `--verbose`, and two bad inputs the spec used to accept."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from orchestrator.errors import SpecError
from orchestrator.spec import load_spec

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def write_spec(folder: Path, **changes: object) -> Path:
    """A one-trial sweep of a test trainable, storing under `folder/runs`."""
    spec = {"name": "tiny", "trainable": "sweep_trainables:quadratic", "metric": "score", "mode": "max",
            "space": {"x": {"uniform": [0.0, 1.0]}}, "search": {"num_samples": 1},
            "early_stopping": {"method": "none"}, "storage": str(folder / "runs"), **changes}
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


# --- two bad inputs -------------------------------------------------------------------------------------------

def test_unsupported_storage_scheme_is_located(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(write_spec(tmp_path, storage="ftp://host/path"))
    assert str(info.value).startswith("tiny.yaml:") and " storage: unsupported scheme 'ftp://'" in str(info.value)


def test_missing_trainable_module_is_an_error_unless_code_is_shipped(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(write_spec(tmp_path, trainable="no_such_pkg.mod:fn"))
    message = str(info.value)
    assert "tiny.yaml:2 trainable: cannot find module 'no_such_pkg.mod'" in message and "\n" not in message

    spec = load_spec(write_spec(tmp_path, trainable="no_such_pkg.mod:fn", runtime_env={"py_modules": ["."]}))
    assert spec.trainable == "no_such_pkg.mod:fn"
    warning = capsys.readouterr().err
    assert warning.startswith("hpo: warning: tiny.yaml:2 trainable: cannot find module") and warning.count("\n") == 1


def test_cli_validate_says_it_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "validate",
                           str(write_spec(tmp_path, storage="ftp://host/path"))],
                          capture_output=True, text=True, cwd=REPO, env=_env(tmp_path), timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("hpo: error: tiny.yaml:") and done.stderr.count("\n") == 1


# --- which Ray a run uses --------------------------------------------------------------------------------------

def _env(tmp_path: Path, ray_tmp: Path | None = None) -> dict[str, str]:
    """The CLI's environment: this checkout and the test trainables importable, no inherited Ray address, and Ray's
    temp dir (where `ray_current_cluster` lives) private to the test when `ray_tmp` is given."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_TMPDIR", "TMPDIR")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS), env.get("PYTHONPATH", "")])
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    if ray_tmp is not None:
        env["RAY_TMPDIR"] = str(ray_tmp)
    return env


def hpo_run(spec: Path, env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "run", str(spec), "--quiet", *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)


class Listener:
    """A TCP port that records whoever connects: the address a cluster file names, to prove nobody asks it."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def test_stale_cluster_file_neither_delays_a_run_nor_hangs_auto(tmp_path: Path) -> None:
    """A `ray_current_cluster` left by a killed cluster: `hpo run` starts its own Ray without asking that address
    and writes its phase timings; `--address auto` fails in seconds with one line naming the file."""
    ray_tmp = Path(f"/tmp/hpo-st-{os.getpid()}")   # short: Ray's socket paths live under it
    try:
        _stale_file_case(tmp_path, ray_tmp)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _stale_file_case(tmp_path: Path, ray_tmp: Path) -> None:
    (ray_tmp / "ray").mkdir(parents=True, exist_ok=True)
    listener = Listener()
    cluster_file = ray_tmp / "ray" / "ray_current_cluster"
    cluster_file.write_text(f"127.0.0.1:{listener.port}")
    env = _env(tmp_path, ray_tmp)
    spec = write_spec(tmp_path)

    done = hpo_run(spec, env, "--verbose")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert listener.connections == 0
    for line in ("phase timings:", "outside the sweep", "before the run"):
        assert line in done.stdout
    assert "dashboard: http" not in done.stdout   # the embedded Ray serves no dashboard unless --ray-dashboard
    log = (tmp_path / "runs" / "tiny" / "hpo.log").read_text(encoding="utf-8")
    assert "hpo phase timings:" in log
    for phase in ("Ray start (overlapped)", "start Ray", "first trial started", "sweep", "shutdown", "publish",
                  "whole run", "outside the sweep"):
        assert f"  {phase} " in log

    cluster_file.write_text(f"127.0.0.1:{_dead_port()}")
    started = time.monotonic()
    failed = hpo_run(spec, env, "--address", "auto", "--fresh", timeout=60)
    assert time.monotonic() - started < 30
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1
    assert "cannot connect to Ray at auto (127.0.0.1:" in failed.stderr and str(cluster_file) in failed.stderr


def test_background_start_only_for_a_fresh_local_ray(ray_local, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI starts Ray early (overlapping its imports) only where it would start a fresh local one: never when
    `--address` or RAY_ADDRESS names a cluster, nor when this process has a Ray already; with none begun, the
    runner's wait for it is a no-op."""
    from orchestrator.runner import ray_start

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert not ray_start.start_in_background("auto")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    assert not ray_start.start_in_background(None)
    monkeypatch.setenv("RAY_ADDRESS", "local")
    assert not ray_start.start_in_background(None)   # a fresh local Ray, but this process has one
    assert ray_start.finish_background_start() is None


_STARTED_BEFORE_THE_SESSION = """
import sys, time
from pathlib import Path
import ray
from orchestrator.runner import ray_start
from orchestrator.runner.phase_timer import PhaseTimer
from orchestrator.runner.ray_session import ray_session
from orchestrator.spec import load_spec

spec = load_spec(sys.argv[1])
assert ray_start.start_in_background(None)
while not ray.is_initialized():   # the start ends before the runner asks for Ray (the imports were slower)
    time.sleep(0.1)
timer = PhaseTimer()
with ray_session(spec, None, Path(sys.argv[2]), timer) as dashboard:
    assert dashboard is None and ray.get(ray.put(1)) == 1   # no Ray dashboard unless asked; Ray outlived its thread
assert not ray.is_initialized(), "a background-started Ray belongs to the run, which shuts it down"
print(sorted(timer.phases))
"""


def test_ray_started_in_background_belongs_to_the_run(tmp_path: Path) -> None:
    """Ray started in the background is the run's own even when its start ended before the runner asked for it:
    used as it is, timed as `Ray start (overlapped)`, shut down (and timed) when the session ends."""
    done = subprocess.run([sys.executable, "-c", _STARTED_BEFORE_THE_SESSION, str(write_spec(tmp_path)),
                           str(tmp_path / "hpo.log")], capture_output=True, text=True, cwd=REPO,
                          env=_env(tmp_path), timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'Ray start (overlapped)'" in done.stdout and "'shutdown'" in done.stdout


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_running_local_cluster_is_joined_only_with_address(tmp_path: Path) -> None:
    """With a `ray start` cluster on this machine, `hpo run` still starts its own Ray; `--address auto` joins it."""
    from test_cluster import free_port, kill_pids, processes_of

    ray_tmp = Path(f"/tmp/hpo-lc-{os.getpid()}")
    env = {**_env(tmp_path, ray_tmp), "RAY_AUTH_MODE": "disabled"}
    dashboard_port = free_port()
    started = subprocess.run(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1",
         "--port", str(free_port()), "--dashboard-port", str(dashboard_port), "--dashboard-host", "127.0.0.1",
         "--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
         "--num-cpus", "1", "--object-store-memory", "150000000", "--disable-usage-stats"],
        env=env, capture_output=True, text=True, timeout=180)
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        assert (ray_tmp / "ray" / "ray_current_cluster").is_file()
        spec = write_spec(tmp_path)
        own = hpo_run(spec, env, "--ray-dashboard")
        assert own.returncode == 0, own.stderr[-2000:]
        assert "dashboard: http" in own.stdout and f"dashboard: http://127.0.0.1:{dashboard_port} " not in own.stdout
        joined = hpo_run(spec, env, "--address", "auto", "--fresh")
        assert joined.returncode == 0, joined.stderr[-2000:]
        assert f"dashboard: http://127.0.0.1:{dashboard_port} " in joined.stdout
    finally:
        kill_pids(processes_of(str(ray_tmp)), 9)
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_ray_dashboard_is_skipped_when_the_install_cannot_serve_it(tmp_path: Path) -> None:
    """A Ray install without the dashboard's web page (a trimmed wheel) made every `ray.init` wait 60 s for a dashboard
    that never came up (start Ray 65 s instead of 10.5 s on a 16-core machine): asked for, it is left out in one line.
    The real install here has the page, and is used as it is."""
    probe = ("import sys; from orchestrator.compat import dashboard_frontend_missing as m; "
             "from orchestrator.runner.ray_start import wants_ray_dashboard as w; print(m()); print(w())")
    env = {**os.environ, "HPO_RAY_DASHBOARD": "1", "PYTHONPATH": str(REPO)}
    real = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert real.stdout.split() == ["None", "True"] and real.stderr == ""
    trimmed = tmp_path / "site" / "ray" / "dashboard"
    trimmed.mkdir(parents=True)
    (trimmed.parent / "__init__.py").write_text("")
    (trimmed / "__init__.py").write_text("")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), str(REPO)])
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.stdout.split() == [str(trimmed / "client" / "build"), "False"], done.stderr
    assert done.stderr.count("\n") == 1 and "Ray's dashboard cannot start" in done.stderr
