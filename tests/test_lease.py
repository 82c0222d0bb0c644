"""One writer per sweep: two `hpo run` of one sweep, racing claimants on a local folder and on S3 (moto over HTTP),
takeover of a lease whose owner is gone, the heartbeat, and `hpo train` refused while a run holds the sweep."""
from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.cli.main import main
from orchestrator.storage import lease as lease_module
from orchestrator.storage import publish_best, resolve_storage
from orchestrator.storage.lease import LEASE_FILE, LeaseRecord, SweepBusy, claim_lease
from s3_fixtures import s3_client
from test_storage import MANIFEST, make_checkpoint

TINY_SPEC = """\
name: leased
trainable: sweep_trainables:quadratic
metric: score
mode: max
config: {epochs: 2}
space:
  x: {uniform: [0, 5]}
search: {method: random, num_samples: 1, seed: 0}
resources: {cpu: 1}
"""


def test_second_hpo_run_of_a_running_sweep_is_refused(ray_local, tmp_path: Path) -> None:
    spec = tmp_path / "leased.yaml"
    spec.write_text(TINY_SPEC)
    runs = tmp_path / "runs"
    address = ray_local.get_runtime_context().gcs_address   # the first run joins the session's Ray: no startup
    command = [sys.executable, "-m", "orchestrator.cli.main", "run", str(spec), "--storage", str(runs), "--quiet",
               "--address", address]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        lease_file = runs / "leased" / LEASE_FILE
        deadline = time.time() + 60
        while not lease_file.exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert lease_file.exists(), first.communicate()[0]
        second = subprocess.run([*command, "--fresh"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert second.returncode == 2, second.stderr
        assert f"pid {first.pid}" in second.stderr and socket.gethostname() in second.stderr
        assert "in use by hpo run" in second.stderr and "started 20" in second.stderr
        assert second.stderr.count("\n") == 1
        output = first.communicate(timeout=120)[0]
        assert first.returncode == 0, output
    finally:
        first.kill()
    assert not lease_file.exists()                     # released at the end
    assert (runs / "leased" / "best" / "best.json").exists()   # and the --fresh attempt deleted nothing


def _claim_and_report(uri: str, options: dict, start_at: float, results: multiprocessing.Queue) -> None:
    location = resolve_storage(uri, options)
    time.sleep(max(0.0, start_at - time.time()))
    try:
        held = claim_lease(location, "hpo run")
    except SweepBusy:
        results.put("refused")
        return
    results.put("won")
    time.sleep(2)   # hold it while the other claimant decides
    held.release()


def _race(uri: str, options: dict) -> list[str]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 4   # both children are imported and waiting by then
    children = [context.Process(target=_claim_and_report, args=(uri, options, start_at, results)) for _ in range(2)]
    for child in children:
        child.start()
    outcome = sorted(results.get(timeout=60) for _ in children)
    for child in children:
        child.join(timeout=30)
    return outcome


def test_two_processes_racing_for_a_local_lease(tmp_path: Path) -> None:
    assert _race(str(tmp_path / "runs" / "demo"), {}) == ["refused", "won"]


def test_two_processes_racing_for_an_s3_lease(s3_server: str, make_bucket) -> None:
    bucket = make_bucket()
    uri = f"s3://{bucket}/sweeps/demo"
    assert _race(uri, {"endpoint_url": s3_server}) == ["refused", "won"]
    keys = s3_client(s3_server).list_objects_v2(Bucket=bucket).get("Contents", [])
    assert keys == []   # the winner released it


def _claim_and_die(uri: str) -> None:
    claim_lease(resolve_storage(uri), "hpo run")
    os._exit(0)   # no release: the lease is left behind as by a killed driver


def test_lease_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    uri = str(tmp_path / "runs" / "demo")
    child = multiprocessing.get_context("spawn").Process(target=_claim_and_die, args=(uri,))
    child.start()
    child.join(timeout=60)
    left = LeaseRecord.parse((tmp_path / "runs" / "demo" / LEASE_FILE).read_bytes())
    assert left is not None and left.pid == child.pid
    claim_lease(resolve_storage(uri), "hpo run --resume").release()


@pytest.mark.parametrize("on_s3", [False, True])
def test_lease_of_another_host_is_refused_until_its_heartbeat_is_stale(tmp_path: Path, on_s3: bool,
                                                                       request: pytest.FixtureRequest) -> None:
    now = time.time()
    other = LeaseRecord(owner="x", host="gpu-node-7", pid=4242, command="hpo run", started=now - 30, heartbeat=now)
    if on_s3:
        endpoint, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("make_bucket")()
        location = resolve_storage(f"s3://{bucket}/demo", {"endpoint_url": endpoint})

        def plant(record: LeaseRecord) -> None:
            s3_client(endpoint).put_object(Bucket=bucket, Key=f"demo/{LEASE_FILE}", Body=record.payload())
    else:
        location = resolve_storage(str(tmp_path / "demo"))

        def plant(record: LeaseRecord) -> None:
            (tmp_path / "demo" / LEASE_FILE).write_bytes(record.payload())
    plant(other)
    with pytest.raises(SweepBusy, match="in use by hpo run on host gpu-node-7, pid 4242, started "):
        claim_lease(location, "hpo run")
    plant(LeaseRecord(**{**other.__dict__, "heartbeat": now - lease_module.STALE_AFTER_S - 1}))
    claim_lease(location, "hpo run").release()


def test_heartbeat_renews_the_lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease_module, "HEARTBEAT_S", 0.2)
    held = claim_lease(resolve_storage(str(tmp_path / "demo")), "hpo run")
    try:
        first = json.loads((tmp_path / "demo" / LEASE_FILE).read_text())["heartbeat"]
        time.sleep(0.7)
        assert json.loads((tmp_path / "demo" / LEASE_FILE).read_text())["heartbeat"] > first
    finally:
        held.release()
    assert not (tmp_path / "demo" / LEASE_FILE).exists()


def test_hpo_train_is_refused_while_the_sweep_is_held(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = resolve_storage(str(tmp_path / "runs" / "demo"))
    publish_best(sweep, make_checkpoint(tmp_path / "ck", {"m.bin": b"m"}),
                 {**MANIFEST, "config": {"dataset": "iris", "model": {"name": "knn", "n_neighbors": 3}},
                  "spec": {"trainable": "sklearn_classifier"}})
    held = claim_lease(sweep, "hpo run")
    try:
        assert main(["train", "--from-best", sweep.uri]) == 2
        assert f"in use by hpo run on host {socket.gethostname()}, pid {os.getpid()}" in capsys.readouterr().err
    finally:
        held.release()
    assert not (tmp_path / "runs" / "demo" / "final" / "final.json").exists()


@pytest.mark.parametrize("on_s3", [False, True])
def test_announced_ray_dashboard_is_in_the_lease(tmp_path: Path, on_s3: bool, request: pytest.FixtureRequest) -> None:
    """`hpo dashboard` links the Ray dashboard of a running sweep from what its driver's lease says."""
    if on_s3:
        endpoint, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("make_bucket")()
        location = resolve_storage(f"s3://{bucket}/demo", {"endpoint_url": endpoint})
        read = lambda: s3_client(endpoint).get_object(Bucket=bucket, Key=f"demo/{LEASE_FILE}")["Body"].read()  # noqa: E731
    else:
        location = resolve_storage(str(tmp_path / "runs" / "demo"))
        read = lambda: (tmp_path / "runs" / "demo" / LEASE_FILE).read_bytes()  # noqa: E731
    lease = claim_lease(location, "hpo run")
    try:
        assert LeaseRecord.parse(read()).ray_dashboard == ""
        lease.announce_dashboard("http://127.0.0.1:8265")
        record = LeaseRecord.parse(read())
        assert record.ray_dashboard == "http://127.0.0.1:8265" and record.owner == lease.record.owner
        assert not lease.lost
    finally:
        lease.release()
