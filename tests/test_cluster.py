"""Sweeps on a real multi-process Ray cluster on 127.0.0.1: `hpo submit/status/logs/stop` through the
Jobs API with token auth on and off, GPU scheduling on nodes that declare GPUs, a node lost mid-sweep,
and the cluster configs in cluster/ checked against Ray's and KubeRay's schemas.

The clusters are started with `ray start` from this project's .venv (so `hpo` is on the nodes' PATH),
each node with its own temp dir and free ports, and stopped by PID: every process whose command line
names a node's temp dir, and their descendants. `ray stop` is never used (it would stop every Ray on
the machine).
"""
from __future__ import annotations

import copy
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HPO = str(BIN / "hpo")
RAY = str(BIN / "ray")
TESTS = Path(__file__).resolve().parent
SCRUBBED_ENV = ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN",
                "RAY_AUTH_TOKEN_PATH")
JOB_TIMEOUT_S = 180.0

# Trainables that record what Ray gave them; shipped to the cluster with each job (py_modules or
# working_dir), as a user's own code would be.
PROBE_SOURCE = '''
"""Test trainables that write one JSON record per event into config["record_dir"]."""
import json
import os
import tempfile
import time

import ray
from ray import tune


def _record(config, **fields):
    os.makedirs(config["record_dir"], exist_ok=True)
    record = {"trial": tune.get_context().get_trial_id(), "node": os.environ.get("HPO_TEST_NODE"),
              "pid": os.getpid(), "time": time.time(), **fields}
    name = f"{record['trial']}-{time.time_ns()}.json"
    with open(os.path.join(config["record_dir"], name + ".tmp"), "w") as f:
        json.dump(record, f)
    os.replace(os.path.join(config["record_dir"], name + ".tmp"), os.path.join(config["record_dir"], name))


def gpu_probe(config):
    """Holds its GPU share for `hold_s`, recording start, end and the device ids Ray assigned."""
    start = time.time()
    ids = [str(i) for i in ray.get_gpu_ids()]
    time.sleep(config["hold_s"])
    _record(config, event="ran", start=start, end=time.time(), gpu_ids=ids,
            cuda_visible=os.environ.get("CUDA_VISIBLE_DEVICES"))
    tune.report({"score": -abs(config["x"] - 3.0)})


def resumable(config):
    """`epochs` slow epochs with a checkpoint each; a retried trial resumes from its last one."""
    epoch = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as d:
            with open(os.path.join(d, "state.json")) as f:
                epoch = json.load(f)["epoch"]
    _record(config, event="start", from_epoch=epoch)
    while epoch < config["epochs"]:
        time.sleep(config["epoch_s"])
        epoch += 1
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "state.json"), "w") as f:
                json.dump({"epoch": epoch}, f)
            tune.report({"score": -abs(config["x"] - 3.0) - 1.0 / epoch, "epoch": epoch},
                        checkpoint=tune.Checkpoint.from_directory(d))
        _record(config, event="epoch", epoch=epoch)
'''


# --- processes and ports -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process we can read."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                state, parent = f.read().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError, IndexError):
            continue
        if state != "Z":   # a killed process not yet reaped is gone already
            table[int(entry)] = (int(parent), cmdline)
    return table


def processes_of(marker: str) -> list[int]:
    """PIDs of the processes whose command line contains `marker`, and all their descendants
    (Ray renames its workers and agents, whose command lines then no longer name the temp dir)."""
    table = _process_table()
    found = {pid for pid, (_, cmd) in table.items() if marker in cmd and pid != os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, (parent, _) in table.items() if parent in found} - found
        found |= children
        grew = bool(children)
    return sorted(found)


def kill_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def client_env(token: str | None = None, home: Path | None = None) -> dict[str, str]:
    """The environment of an `hpo` client: no inherited Ray address or auth; the token if given;
    HOME pointing at an empty folder so that no ~/.ray/auth_token is found by accident."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    if home is not None:
        env["HOME"] = str(home)
    if token:
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    return env


def hpo(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the `hpo` CLI as a user would."""
    return subprocess.run([HPO, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


# --- a local cluster -----------------------------------------------------------------------------------------

@dataclass
class Node:
    """One `ray start`ed node: its temp dir names all of its processes."""

    name: str
    temp_dir: Path

    def pids(self) -> list[int]:
        return processes_of(str(self.temp_dir))


@dataclass
class LocalCluster:
    """A head and workers on 127.0.0.1, each its own `ray start`, all stopped by PID."""

    root: Path
    auth_token: str | None
    gcs_port: int = field(default_factory=free_port)
    dashboard_port: int = field(default_factory=free_port)
    nodes: list[Node] = field(default_factory=list)

    @property
    def jobs_address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def node_env(self, name: str) -> dict[str, str]:
        env = client_env()
        env.update(RAY_USAGE_STATS_ENABLED="0", HPO_TEST_NODE=name)
        if self.auth_token:
            env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.auth_token)
        else:
            env["RAY_AUTH_MODE"] = "disabled"
        return env

    def _start(self, name: str, args: list[str], temp_dir: Path | None = None) -> Node:
        node = Node(name, temp_dir or self.root / name)
        self.nodes.append(node)   # before starting: a half-started node is still stopped
        common = ["--node-ip-address", "127.0.0.1", "--temp-dir", str(node.temp_dir),
                  "--dashboard-agent-listen-port", str(free_port()), "--object-store-memory", "150000000",
                  "--disable-usage-stats"]
        done = subprocess.run([RAY, "start", *args, *common], env=self.node_env(name), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"ray start {name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return node

    def start_head(self, num_cpus: int, num_gpus: int = 0) -> Node:
        return self._start("head", [
            "--head", "--port", str(self.gcs_port), "--dashboard-port", str(self.dashboard_port),
            "--dashboard-host", "127.0.0.1", "--ray-client-server-port", str(free_port()),
            "--num-cpus", str(num_cpus), "--num-gpus", str(num_gpus)])

    def add_worker(self, name: str, num_cpus: int, num_gpus: int = 0, *, share_head_temp_dir: bool = False) -> Node:
        """A worker node; `share_head_temp_dir`: in the head's temp dir, as `ray start` without --temp-dir does on
        one machine (the nodes then share the session folder and its unpacked runtime_env packages)."""
        node = self._start(name, ["--address", f"127.0.0.1:{self.gcs_port}", "--num-cpus", str(num_cpus),
                                  "--num-gpus", str(num_gpus)],
                           temp_dir=self.nodes[0].temp_dir if share_head_temp_dir else None)
        self.wait_for_nodes(len(self.nodes))
        return node

    def wait_for_nodes(self, count: int, timeout_s: float = 60) -> None:
        """Until the cluster reports `count` alive nodes (asked through the dashboard)."""
        import requests

        headers = {"Authorization": f"Bearer {self.auth_token}"} if self.auth_token else {}
        deadline = time.monotonic() + timeout_s
        alive = 0
        while time.monotonic() < deadline:
            try:
                reply = requests.get(f"{self.jobs_address}/nodes?view=summary", headers=headers, timeout=5)
                summary = reply.json()["data"]["summary"]
                alive = sum(1 for n in summary if n.get("raylet", {}).get("state") == "ALIVE")
            except (requests.RequestException, KeyError, ValueError):
                alive = 0
            if alive >= count:
                return
            time.sleep(1)
        raise AssertionError(f"cluster has {alive} alive nodes, expected {count}")

    def kill_node(self, node: Node) -> list[int]:
        """SIGKILL every process of a node at once, as a machine dying would; the PIDs killed."""
        pids = node.pids()
        kill_pids(pids, signal.SIGKILL)
        return pids

    def shutdown(self) -> None:
        """SIGTERM the nodes' processes (workers first), then SIGKILL what is left."""
        for node in reversed(self.nodes):
            kill_pids(node.pids(), signal.SIGTERM)
        deadline = time.monotonic() + 8   # Ray's GCS can take long to honour SIGTERM
        while time.monotonic() < deadline and any(n.pids() for n in self.nodes):
            time.sleep(0.5)
        for node in self.nodes:
            kill_pids(node.pids(), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(token: str | None, head_cpus: int, workers: list[tuple[str, int, int]]) -> LocalCluster:
    """A cluster in a short temp dir (Unix socket paths must stay under 108 characters)."""
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="hpo-rc-", dir="/tmp")), token)
    try:
        cluster.start_head(head_cpus)
        for name, cpus, gpus in workers:
            cluster.add_worker(name, cpus, gpus)
    except BaseException:
        cluster.shutdown()
        raise
    return cluster


# --- specs and results ---------------------------------------------------------------------------------------

def write_spec(folder: Path, name: str, body: dict) -> Path:
    """A spec file for a sweep named `name` storing under `folder/runs`."""
    spec = {"name": name, "metric": "score", "mode": "max", "storage": str(folder / "runs"),
            "early_stopping": {"method": "none"}, **body}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def write_probe(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cluster_probe.py"
    path.write_text(PROBE_SOURCE, encoding="utf-8")
    return path


def records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def submitted_job_id(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    line = next(l for l in result.stdout.splitlines() if l.startswith("submitted sweep"))
    return line.rsplit(" ", 1)[1]


def job_status(job_id: str, address: str, env: dict[str, str]) -> tuple[str, str]:
    """(status, the whole `hpo status` output)."""
    result = hpo("status", job_id, "--address", address, env=env)
    assert result.returncode == 0, result.stderr
    return next(l.split()[1] for l in result.stdout.splitlines() if l.startswith("status:")), result.stdout


def follow_to_end(job_id: str, address: str, env: dict[str, str], timeout_s: float = JOB_TIMEOUT_S) -> str:
    """`hpo logs JOB --follow` until the job ends (one blocking call rather than polling `hpo status`,
    which on a busy machine costs a Ray import per poll); asserts it SUCCEEDED; the job's output."""
    result = hpo("logs", job_id, "--address", address, "--follow", env=env, timeout=timeout_s)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"job {job_id}: SUCCEEDED" in result.stderr
    assert job_status(job_id, address, env)[0] == "SUCCEEDED"
    return result.stdout


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def best_manifest(storage: Path, name: str) -> dict:
    return json.loads((storage / name / "best" / "best.json").read_text())


# --- cluster configs (no cluster needed) ---------------------------------------------------------------------

def aws_config() -> dict:
    return yaml.safe_load((REPO / "cluster" / "aws-gpu.yaml").read_text())


def validate_with_ray(config: dict) -> dict:
    """What `ray up` does before anything else: fill in Ray's defaults, then validate against
    ray/autoscaler/ray-schema.json (jsonschema) and Ray's own consistency checks."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def test_aws_config_passes_rays_cluster_schema() -> None:
    config = aws_config()
    prepared = validate_with_ray(config)
    assert prepared["provider"]["type"] == "aws"
    types = prepared["available_node_types"]
    head = types[prepared["head_node_type"]]
    assert head["resources"] == {"CPU": 0, "GPU": 0} and head["max_workers"] == 0
    workers = [t for name, t in types.items() if name != prepared["head_node_type"]]
    assert workers and all(t["resources"]["GPU"] >= 1 and t["min_workers"] == 0 < t["max_workers"]
                           for t in workers)
    assert any(t["node_config"]["InstanceType"] == "g5.xlarge" for t in workers)
    setup = "\n".join(config["setup_commands"])
    assert "torch==2.13.0" in setup and "-e ~/hpo" in setup
    start = "\n".join(config["head_start_ray_commands"] + config["worker_start_ray_commands"])
    assert start.count("RAY_AUTH_MODE=token") == 2 and start.count("venv/bin:$PATH") >= 2


@pytest.mark.parametrize("mistake", ["misspelt top-level key", "wrong type", "head type not defined"])
def test_aws_config_schema_catches_mistakes(mistake: str) -> None:
    """The check above has teeth."""
    import jsonschema

    config = aws_config()
    if mistake == "misspelt top-level key":
        config["max_worker"] = config.pop("max_workers")
    elif mistake == "wrong type":
        config["idle_timeout_minutes"] = "ten"
    else:
        config["head_node_type"] = "cpu_head"
    with pytest.raises((jsonschema.ValidationError, ValueError)):
        validate_with_ray(config)


def test_kuberay_manifest_has_what_kuberay_requires() -> None:
    docs = [d for d in yaml.safe_load_all((REPO / "cluster" / "kuberay.yaml").read_text()) if d]
    cluster = next(d for d in docs if d.get("kind") == "RayCluster")
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["metadata"]["name"]
    spec = cluster["spec"]
    assert spec["rayVersion"] == "2.60.0" and spec["authOptions"]["mode"] == "token"
    head = spec["headGroupSpec"]
    assert "dashboard-host" in head["rayStartParams"]
    head_container = head["template"]["spec"]["containers"][0]
    assert head_container["image"] and head_container["resources"]["limits"]["cpu"]
    assert "nvidia.com/gpu" not in head_container["resources"]["limits"]
    assert {p["containerPort"] for p in head_container["ports"]} >= {6379, 8265, 10001}
    groups = spec["workerGroupSpecs"]
    gpu_groups = [g for g in groups
                  if "nvidia.com/gpu" in g["template"]["spec"]["containers"][0]["resources"]["limits"]]
    assert gpu_groups
    for group in gpu_groups:
        assert group["groupName"] and group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        container = group["template"]["spec"]["containers"][0]
        limits = container["resources"]["limits"]
        assert int(limits["nvidia.com/gpu"]) >= 1 and container["image"]
        assert container["resources"]["requests"].get("nvidia.com/gpu", limits["nvidia.com/gpu"]) \
            == limits["nvidia.com/gpu"]   # Kubernetes: GPU requests must equal limits
        assert "rayStartParams" in group


# --- staging (no cluster needed) ------------------------------------------------------------------------------

def test_staged_runtime_env_carries_spec_and_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.runner.code_shipping import staged_sweep
    from orchestrator.jobs.submit import build_entrypoint, storage_on_cluster
    from orchestrator.spec import load_spec

    code = tmp_path / "project" / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "pkg" / "__init__.py").write_text("")
    (code / "__pycache__").mkdir()
    (code / "train.py").write_text("def f(config): pass\n")
    (tmp_path / "project" / "mylib").mkdir()
    (tmp_path / "project" / "mylib" / "__init__.py").write_text("")
    write_probe(tmp_path / "project")
    spec_path = write_spec(tmp_path / "project", "staged", {
        "trainable": "train:f", "space": {"x": {"uniform": [0.0, 1.0]}}, "storage": "./runs",
        "runtime_env": {"working_dir": "code", "py_modules": ["mylib", "cluster_probe.py", "s3://b/m.zip"],
                        "pip": ["scipy>=1.10"], "env_vars": {"A": "1"}}})
    spec = load_spec(spec_path, ["search.num_samples=2"])
    with staged_sweep(spec, spec_path) as staged:
        shipped = sorted(p.name for p in staged.working_dir.iterdir())
        env = staged.runtime_env
        assert shipped == ["cluster_probe.py", "pkg", "staged.yaml", "train.py"]   # no __pycache__
        assert env["working_dir"] == str(staged.working_dir)
        assert env["py_modules"] == [str(tmp_path / "project" / "mylib"), "s3://b/m.zip"]
        assert env["pip"] == ["scipy>=1.10"] and env["env_vars"]["A"] == "1"
        assert env["env_vars"]["RAY_JOB_STOP_SIGNAL"] == "SIGINT"   # hpo stop lets Tune save its state
    assert not staged.working_dir.exists()

    monkeypatch.chdir(tmp_path)
    storage, note = storage_on_cluster(spec, tmp_path)
    assert storage == str(tmp_path / "runs") and "s3://" in note
    assert build_entrypoint("my spec.yaml", ["name=a b"], storage, ["--resume"]) == \
        f"hpo run 'my spec.yaml' --quiet --address auto --resume --storage {tmp_path / 'runs'} --set 'name=a b'"


def test_missing_code_path_is_one_line(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "nocode", {"trainable": "missing_pkg.train:f", "space": {"x": {"uniform": [0.0, 1.0]}},
                                           "runtime_env": {"py_modules": ["missing_pkg"]}})
    result = hpo("submit", str(spec), "--address", f"http://127.0.0.1:{free_port()}", env=client_env(home=tmp_path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "runtime_env.py_modules[0]: 'missing_pkg' not found" in result.stderr


# --- errors that need no cluster -----------------------------------------------------------------------------

def test_unreachable_address_is_one_line(tmp_path: Path) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    result = hpo("status", "hpo-x", "--address", address, env=client_env(home=tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot reach the Ray Jobs API" in result.stderr


def test_address_from_environment_and_bad_scheme(tmp_path: Path) -> None:
    env = client_env(home=tmp_path)
    result = hpo("status", "hpo-x", env=env)
    assert result.returncode == 2 and "no cluster address" in result.stderr
    env["RAY_ADDRESS"] = "ray://127.0.0.1:10001"
    result = hpo("status", "hpo-x", env=env)
    assert result.returncode == 2 and "Jobs API" in result.stderr and result.stderr.count("\n") == 1


def test_bad_spec_fails_before_contacting_cluster(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "bad", {"trainable": "sweep_trainables:quadratic",
                                        "space": {"x": {"uniform": [5, 1]}}})
    result = hpo("submit", str(spec), "--address", f"http://127.0.0.1:{free_port()}", env=client_env(home=tmp_path))
    assert result.returncode == 2 and "space.x" in result.stderr and "Traceback" not in result.stderr


# --- token auth off ------------------------------------------------------------------------------------------

def test_submit_follow_without_auth(tmp_path: Path) -> None:
    """A cluster with RAY_AUTH_MODE=disabled: a client with no token submits and follows a sweep."""
    cluster = start_cluster(None, head_cpus=2, workers=[])
    try:
        spec = write_spec(tmp_path, "noauth", {
            "trainable": "sweep_trainables:quadratic", "config": {"epochs": 2},
            "space": {"x": {"uniform": [0.0, 6.0]}}, "search": {"method": "random", "num_samples": 2, "seed": 1},
            "runtime_env": {"py_modules": [str(TESTS / "sweep_trainables.py")]}})
        result = hpo("submit", str(spec), "--address", cluster.jobs_address, "--follow",
                     env=client_env(home=tmp_path), timeout=JOB_TIMEOUT_S)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "best config:" in result.stdout and "SUCCEEDED" in result.stderr
        assert best_manifest(tmp_path / "runs", "noauth")["num_trials"] == 2
    finally:
        cluster.shutdown()
    assert not any(n.pids() for n in cluster.nodes)


# --- token auth on: one head and one worker declaring 2 GPUs ---------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    """Token auth on; the head has 2 CPUs and no GPU, the worker 2 CPUs and 2 (declared) GPUs."""
    token = secrets.token_hex(16)
    local = start_cluster(token, head_cpus=2, workers=[("worker", 2, 2)])
    yield local
    local.shutdown()
    assert not any(n.pids() for n in local.nodes)


@pytest.fixture
def authed(cluster: LocalCluster, tmp_path: Path) -> dict[str, str]:
    """A client environment holding the cluster's token."""
    return client_env(cluster.auth_token, home=tmp_path / "home")


def test_submit_status_logs(cluster: LocalCluster, authed: dict[str, str], tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "quad", {
        "trainable": "sweep_trainables:quadratic", "config": {"epochs": 3},
        "space": {"x": {"uniform": [0.0, 6.0]}}, "search": {"method": "random", "num_samples": 4, "seed": 0},
        "runtime_env": {"py_modules": [str(TESTS / "sweep_trainables.py")], "env_vars": {"HPO_MARK": "1"}}})
    submitted = hpo("submit", str(spec), "--address", cluster.jobs_address, "--set", "search.num_samples=3",
                    "--set", "config.api_token=tok-SUBMIT-SECRET", env=authed)   # reaches the driver, not its command
    job_id = submitted_job_id(submitted)
    assert job_id.startswith("hpo-quad-")
    assert f"dashboard: {cluster.jobs_address}/#/jobs/{job_id}" in submitted.stdout

    followed = follow_to_end(job_id, cluster.jobs_address, authed)
    status = job_status(job_id, cluster.jobs_address, authed)[1]
    assert "sweep:     quad (spec quad.yaml)" in status and "--set search.num_samples=3" in status

    logs = hpo("logs", job_id, "--address", cluster.jobs_address, env=authed).stdout
    assert "best config:" in followed and "dashboard: http://" in followed
    manifest = best_manifest(tmp_path / "runs", "quad")
    assert manifest["num_trials"] == 3 and manifest["num_failed"] == 0
    assert manifest["config"]["api_token"] == "***REDACTED***"   # the secret override was applied by the driver
    assert "best config:" in logs and f"x: {manifest['config']['x']}" in logs
    for text in (submitted.stdout, submitted.stderr, followed, status, logs,
                 (tmp_path / "runs" / "quad" / "hpo.log").read_text()):
        assert cluster.auth_token not in text and "tok-SUBMIT-SECRET" not in text


def test_client_without_token_is_refused(cluster: LocalCluster, tmp_path: Path) -> None:
    no_token = hpo("status", "hpo-any", "--address", cluster.jobs_address, env=client_env(home=tmp_path))
    assert no_token.returncode == 1 and no_token.stderr.count("\n") == 1
    assert "authentication failed" in no_token.stderr and "none was found; set RAY_AUTH_TOKEN" in no_token.stderr

    wrong = hpo("status", "hpo-any", "--address", cluster.jobs_address,
                env=client_env("not-" + cluster.auth_token, home=tmp_path))
    assert wrong.returncode == 1 and "refused the token from RAY_AUTH_TOKEN" in wrong.stderr
    assert cluster.auth_token not in wrong.stderr + wrong.stdout

    token_file = tmp_path / ".ray" / "auth_token"   # HOME is tmp_path: Ray's default token file
    token_file.parent.mkdir()
    token_file.write_text(cluster.auth_token + "\n")
    from_file = hpo("status", "hpo-missing", "--address", cluster.jobs_address, env=client_env(home=tmp_path))
    assert from_file.returncode == 2 and "no job 'hpo-missing'" in from_file.stderr
    assert from_file.stderr.count("\n") == 1


def test_stop_then_resume_a_sweep(cluster: LocalCluster, authed: dict[str, str], tmp_path: Path) -> None:
    """`hpo stop` ends a running sweep and its trials (Ray Tune saving its state: the job's stop
    signal is SIGINT); `hpo submit --resume` continues every trial from its checkpoint to the end."""
    record_dir = tmp_path / "records"
    probe = write_probe(tmp_path / "code")
    epochs = 16
    spec = write_spec(tmp_path, "long", {
        "trainable": "cluster_probe:resumable",
        "config": {"record_dir": str(record_dir), "epochs": epochs, "epoch_s": 0.75},
        "space": {"x": {"uniform": [0.0, 6.0]}}, "search": {"method": "random", "num_samples": 2},
        "runtime_env": {"py_modules": [str(probe)]}})
    job_id = submitted_job_id(hpo("submit", str(spec), "--address", cluster.jobs_address, env=authed))
    wait_for(lambda: len({r["trial"] for r in records(record_dir) if r["event"] == "epoch" and r["epoch"] >= 2})
             == 2, 180, "both trials past epoch 2")

    stopped = hpo("stop", job_id, "--address", cluster.jobs_address, env=authed)
    assert stopped.returncode == 0 and f"job {job_id}: STOPPED" in stopped.stdout, stopped.stderr
    assert job_status(job_id, cluster.jobs_address, authed)[0] == "STOPPED"
    stopped_at = time.time()
    seen = len(records(record_dir))
    time.sleep(2)
    assert len(records(record_dir)) <= seen + 2   # its trials are gone too (one may be mid-write)
    again = hpo("stop", job_id, "--address", cluster.jobs_address, env=authed)
    assert again.returncode == 0 and "already ended: STOPPED" in again.stdout

    resumed = hpo("submit", str(spec), "--address", cluster.jobs_address, "--resume", "--follow", env=authed,
                  timeout=JOB_TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert "best config:" in resumed.stdout
    after = [r for r in records(record_dir) if r["time"] > stopped_at]
    restarts: dict[str, int] = {}   # each trial's first start after the stop
    for r in sorted(after, key=lambda r: r["time"]):
        if r["event"] == "start":
            restarts.setdefault(r["trial"], r["from_epoch"])
    assert len(restarts) == 2 and min(restarts.values()) >= 2, restarts   # from their checkpoints
    assert {r["trial"] for r in after if r["event"] == "epoch" and r["epoch"] == epochs} == \
        {r["trial"] for r in records(record_dir)}


def test_fractional_gpus_bound_concurrency(cluster: LocalCluster, authed: dict[str, str], tmp_path: Path) -> None:
    """gpu: 0.5 on a cluster with 2 GPUs: at most 4 trials at once, at most 2 per device, and each
    trial sees (CUDA_VISIBLE_DEVICES) exactly the device Ray assigned it. Code ships as working_dir."""
    record_dir = tmp_path / "records"
    write_probe(tmp_path / "code")
    spec = write_spec(tmp_path, "gpus", {
        "trainable": "cluster_probe:gpu_probe", "config": {"record_dir": str(record_dir), "hold_s": 3},
        "space": {"x": {"uniform": [0.0, 6.0]}}, "search": {"method": "random", "num_samples": 8, "seed": 0},
        "resources": {"cpu": 0.25, "gpu": 0.5}, "runtime_env": {"working_dir": "code"}})
    job_id = submitted_job_id(hpo("submit", str(spec), "--address", cluster.jobs_address, env=authed))
    follow_to_end(job_id, cluster.jobs_address, authed)

    ran = [r for r in records(record_dir) if r["event"] == "ran"]
    assert len(ran) == 8 and {r["node"] for r in ran} == {"worker"}
    for r in ran:
        assert len(r["gpu_ids"]) == 1 and r["gpu_ids"][0] in {"0", "1"}
        assert r["cuda_visible"] == r["gpu_ids"][0]

    def most_at_once(runs: list[dict]) -> int:
        events = sorted([(r["start"], 1) for r in runs] + [(r["end"], -1) for r in runs], key=lambda e: (e[0], e[1]))
        level = peak = 0
        for _, step in events:
            level += step
            peak = max(peak, level)
        return peak

    assert 2 <= most_at_once(ran) <= 4
    for device in ("0", "1"):
        assert most_at_once([r for r in ran if r["gpu_ids"] == [device]]) <= 2


def test_lost_node_trials_resume_on_survivor(cluster: LocalCluster, authed: dict[str, str], tmp_path: Path) -> None:
    """SIGKILL every process of the worker node mid-sweep: its trials fail, are retried from their last
    checkpoints on the head, and the sweep succeeds with every trial finished. (Runs last: the worker
    is gone afterwards.)"""
    record_dir = tmp_path / "records"
    probe = write_probe(tmp_path / "code")
    epochs = 8
    spec = write_spec(tmp_path, "lost", {
        "trainable": "cluster_probe:resumable",
        "config": {"record_dir": str(record_dir), "epochs": epochs, "epoch_s": 1.0},
        "space": {"x": {"uniform": [0.0, 6.0]}}, "search": {"method": "random", "num_samples": 4, "seed": 0},
        "resources": {"cpu": 1}, "failures": {"max_failures": 3}, "checkpoint": {"keep": 2},
        "runtime_env": {"py_modules": [str(probe)]}})
    job_id = submitted_job_id(hpo("submit", str(spec), "--address", cluster.jobs_address, env=authed))

    def worker_trial_progressed() -> bool:
        return any(r["node"] == "worker" and r["event"] == "epoch" and r["epoch"] >= 2 for r in records(record_dir))

    wait_for(worker_trial_progressed, 150, "a trial on the worker node to pass epoch 2")
    worker = next(n for n in cluster.nodes if n.name == "worker")
    assert cluster.kill_node(worker)
    wait_for(lambda: not worker.pids(), 10, "the worker's processes to die")
    lost_at = time.time()

    follow_to_end(job_id, cluster.jobs_address, authed, 240)
    seen = records(record_dir)
    trials = {r["trial"] for r in seen}
    assert len(trials) == 4
    on_worker = {r["trial"] for r in seen if r["node"] == "worker" and r["time"] < lost_at}
    assert on_worker
    for trial in trials:
        done = max(r["epoch"] for r in seen if r["trial"] == trial and r["event"] == "epoch")
        assert done == epochs, f"trial {trial} stopped at epoch {done}"
    resumed = []
    for trial in on_worker:
        before = max((r["epoch"] for r in seen if r["trial"] == trial and r["event"] == "epoch"
                      and r["time"] < lost_at), default=0)
        restarts = [r for r in seen if r["trial"] == trial and r["event"] == "start" and r["time"] > lost_at]
        if before < epochs:   # it was still running on the worker when the node died
            assert restarts and all(r["node"] == "head" for r in restarts)
            # from its last checkpoint: the last epoch recorded, or one more if the node died
            # between the checkpoint and the record
            assert min(before, 1) <= restarts[0]["from_epoch"] <= before + 1
            resumed += [trial] if restarts[0]["from_epoch"] >= 2 else []
    assert resumed, "no trial resumed from a checkpoint"
    manifest = best_manifest(tmp_path / "runs", "lost")
    assert manifest["num_trials"] == 4 and manifest["num_failed"] == 0


def test_submit_shipped_spec_without_runtime_env(tmp_path: Path) -> None:
    """The plainest laptop-to-cluster path: a shipped spec (a built-in trainable, no runtime_env) submitted to a head
    and a worker completes and publishes best/. The nodes share one session folder, as `ray start` without --temp-dir
    makes them on one machine: the worker unpacking the job's working_dir deletes the driver's current folder."""
    cluster = start_cluster(None, head_cpus=1, workers=[])
    try:
        cluster.add_worker("worker", 2, share_head_temp_dir=True)
        storage = tmp_path / "runs"
        result = hpo("submit", str(REPO / "search_spaces" / "quickstart.yaml"), "--address", cluster.jobs_address,
                     "--follow", "--set", f"storage={storage}", "--set", "search.num_samples=4",
                     env=client_env(home=tmp_path), timeout=JOB_TIMEOUT_S)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "Traceback" not in result.stdout + result.stderr
        manifest = best_manifest(storage, "quickstart")
        assert manifest["num_trials"] == 4 and (storage / "quickstart" / "best" / "best.json").is_file()
    finally:
        cluster.shutdown()
