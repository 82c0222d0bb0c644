"""Storage layer against the local disk and a real S3-compatible server (moto over HTTP): resolve, preflight,
publish, fetch, failures mid-publish, and a Ray Tune sweep writing straight into s3://."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from orchestrator.errors import StorageError
from orchestrator.redaction import REDACTED, redact
from orchestrator.storage import (
    IntegrityError, StorageLocation, fetch_best, load_best, preflight, publish_best, read_best, resolve_storage,
)
from s3_fixtures import MotoServer, s3_client


class LocalCheckpoint:
    """Stands in for a ray.tune.Checkpoint on local disk: the same two attributes publish_best reads."""

    def __init__(self, path: Path) -> None:
        self.filesystem = pafs.LocalFileSystem()
        self.path = str(path)


def make_checkpoint(root: Path, files: dict[str, bytes]) -> LocalCheckpoint:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return LocalCheckpoint(root)


MANIFEST = {"config": {"lr": 0.1, "model": {"name": "svc", "api_key": "sk-123"}}, "metric": "acc",
            "metric_value": 0.9, "mode": "max", "trial_id": "t1", "iteration": 3}
FILES = {"model.pt": os.urandom(300_000), "meta/info.json": b'{"epoch": 3}'}


def s3_location(endpoint: str, bucket: str, prefix: str = "sweeps/demo") -> StorageLocation:
    return resolve_storage(f"s3://{bucket}/{prefix}", {"endpoint_url": endpoint})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- resolution -------------------------------------------------------------------------------------------------

def test_resolve_local_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rel = resolve_storage("runs/a")
    assert rel.path == str(tmp_path / "runs" / "a") and (tmp_path / "runs" / "a").is_dir()
    assert resolve_storage(f"file://{tmp_path}/b").path == str(tmp_path / "b")
    assert rel.join("x", "y/").path == str(tmp_path / "runs" / "a" / "x" / "y")
    assert isinstance(rel.filesystem, pafs.LocalFileSystem)
    with pytest.raises(StorageError, match="cannot create"):
        (tmp_path / "plainfile").write_text("")
        resolve_storage(str(tmp_path / "plainfile" / "runs"))


def test_resolve_s3(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loc = resolve_storage("s3://bucket-a/sweeps/", {"endpoint_url": s3_server, "region": "eu-west-1"})
    assert (loc.uri, loc.path) == ("s3://bucket-a/sweeps", "bucket-a/sweeps")
    assert isinstance(loc.filesystem, pafs.S3FileSystem) and loc.filesystem.region == "eu-west-1"
    assert loc.join("demo").uri == "s3://bucket-a/sweeps/demo" and s3_server in loc.display
    assert "never-stored" not in repr(loc) + loc.display
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    assert s3_server in resolve_storage("s3://bucket-a").display
    with pytest.raises(StorageError, match="unknown storage_options"):
        resolve_storage("s3://bucket-a", {"secret_key": "x"})
    assert loc.filesystem.request_checksum == "when_required"  # plain part bodies for S3-compatible servers
    chunked = resolve_storage("s3://bucket-a", {"endpoint_url": s3_server, "request_checksum": "WHEN_SUPPORTED"})
    assert pickle.loads(pickle.dumps(chunked.filesystem)).request_checksum == "when_supported"  # as Ray ships it
    with pytest.raises(StorageError, match="request_checksum must be one of"):
        resolve_storage("s3://bucket-a", {"request_checksum": "sometimes"})
    with pytest.raises(StorageError, match="set AWS_PROFILE"):
        resolve_storage("s3://bucket-a", {"profile": "dev"})
    with pytest.raises(StorageError, match="credentials do not belong"):
        resolve_storage("s3://AKIA:shh@bucket-a/x")
    with pytest.raises(StorageError, match="unsupported storage scheme"):
        resolve_storage("gs://bucket-a/x")


# --- preflight ---------------------------------------------------------------------------------------------------

def test_preflight_passes_and_leaves_nothing(s3_server: str, make_bucket, tmp_path: Path) -> None:
    bucket = make_bucket()
    preflight(s3_location(s3_server, bucket))
    assert s3_client(s3_server).list_objects_v2(Bucket=bucket, Prefix="sweeps/demo/.hpo").get("KeyCount") == 0
    preflight(resolve_storage(str(tmp_path / "runs")))
    assert list((tmp_path / "runs").iterdir()) == []


def assert_one_line_error(location: StorageLocation, expected: str) -> None:
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        preflight(location)
    message = str(info.value)
    assert expected in message and "\n" not in message, message
    assert time.monotonic() - started < 15
    assert info.value.exit_code == 2


def test_preflight_missing_bucket(s3_server: str) -> None:
    assert_one_line_error(s3_location(s3_server, "no-such-bucket-here"), "the bucket does not exist")


def test_preflight_wrong_endpoint(make_bucket, s3_server: str) -> None:
    import http.server
    import threading

    from s3_fixtures import free_port

    assert_one_line_error(s3_location(f"http://127.0.0.1:{free_port()}", make_bucket()),
                          "cannot reach the S3 endpoint")
    not_s3 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=not_s3.serve_forever, daemon=True).start()
    try:
        assert_one_line_error(s3_location(f"http://127.0.0.1:{not_s3.server_address[1]}", "bucket-x"),
                              "does not answer like an S3 server")
    finally:
        not_s3.shutdown()


def test_preflight_no_credentials(make_bucket, s3_server: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    location = s3_location(s3_server, make_bucket())
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert_one_line_error(location, "no AWS credentials found")


def test_preflight_unwritable_folder(tmp_path: Path) -> None:
    (tmp_path / "plainfile").write_text("")
    location = resolve_storage(str(tmp_path / "plainfile" / "runs"), create=False)
    assert_one_line_error(location, "cannot write to it")


# --- publish and fetch -------------------------------------------------------------------------------------------

def test_publish_writes_files_then_manifest_with_sha256(s3_server: str, make_bucket, tmp_path: Path) -> None:
    bucket = make_bucket()
    sweep = s3_location(s3_server, bucket)
    uri = publish_best(sweep, make_checkpoint(tmp_path / "ck", FILES), MANIFEST)
    assert uri == f"s3://{bucket}/sweeps/demo/best"
    client = s3_client(s3_server)
    manifest = json.loads(client.get_object(Bucket=bucket, Key="sweeps/demo/best/best.json")["Body"].read())
    assert manifest["files"] == {rel: {"sha256": sha(data), "size": len(data)} for rel, data in FILES.items()}
    for rel, data in FILES.items():
        key = f"sweeps/demo/best/{manifest['checkpoint_dir']}/{rel}"
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert manifest["config"]["model"] == {"name": "svc", "api_key": REDACTED}
    assert "sk-123" not in json.dumps(manifest)
    assert {k: manifest[k] for k in ("metric", "metric_value", "mode", "trial_id", "iteration")} == {
        "metric": "acc", "metric_value": 0.9, "mode": "max", "trial_id": "t1", "iteration": 3}
    assert read_best(sweep.uri, {"endpoint_url": s3_server}) == manifest


def test_fetch_verifies_and_detects_corruption(s3_server: str, make_bucket, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.storage import transfer

    monkeypatch.setattr(transfer, "CHUNK_BYTES", 64 * 1024)  # model.pt goes through the parallel ranged reads
    bucket = make_bucket()
    sweep = s3_location(s3_server, bucket)
    publish_best(sweep, make_checkpoint(tmp_path / "ck", FILES), MANIFEST)
    options = {"endpoint_url": s3_server}
    best = load_best(sweep.uri, to_dir=tmp_path / "got", storage_options=options)
    assert best.config["lr"] == 0.1 and best.metric_value == 0.9 and best.trial_id == "t1"
    assert (best.checkpoint_path / "model.pt").read_bytes() == FILES["model.pt"]
    key = f"sweeps/demo/best/{best.manifest['checkpoint_dir']}/model.pt"
    s3_client(s3_server).put_object(Bucket=bucket, Key=key, Body=b"tampered" + FILES["model.pt"][8:])
    with pytest.raises(IntegrityError, match="checksum mismatch for model.pt"):
        fetch_best(sweep.uri, tmp_path / "again", options)
    assert not (tmp_path / "again" / "model.pt").exists()


def test_fetch_refuses_keys_escaping_the_folder(tmp_path: Path) -> None:
    sweep = resolve_storage(str(tmp_path / "runs" / "demo"))
    publish_best(sweep, make_checkpoint(tmp_path / "ck", {"a.txt": b"a"}), MANIFEST)
    manifest_path = tmp_path / "runs" / "demo" / "best" / "best.json"
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["files"]["a.txt"]
    for evil in ("../escaped.txt", "/etc/evil", "sub/../../escaped.txt", "..", "C:\\evil"):
        manifest["files"] = {evil: entry}
        manifest_path.write_text(json.dumps(manifest))
        with pytest.raises(IntegrityError, match="refusing manifest key"):
            fetch_best(sweep.uri, tmp_path / "out" / "inner")
    assert not (tmp_path / "out" / "escaped.txt").exists()


def test_republish_keeps_old_manifest_valid_until_switch(s3_server: str, make_bucket, tmp_path: Path) -> None:
    bucket = make_bucket()
    sweep = s3_location(s3_server, bucket)
    options = {"endpoint_url": s3_server}
    publish_best(sweep, make_checkpoint(tmp_path / "v1", {"m.bin": b"one" * 1000}), {**MANIFEST, "trial_id": "v1"})
    seen: list[str] = []

    def reader_during_publish(rel: str, _digest) -> None:
        # Mid re-publish, a reader still gets the complete previous version.
        got = load_best(sweep.uri, to_dir=tmp_path / f"mid-{rel}", storage_options=options)
        seen.append(got.trial_id)
        assert (got.checkpoint_path / "m.bin").read_bytes() == b"one" * 1000

    v2 = make_checkpoint(tmp_path / "v2", {"m.bin": b"two" * 1000, "extra.bin": b"x"})
    publish_best(sweep, v2, {**MANIFEST, "trial_id": "v2"}, on_file=reader_during_publish)
    assert seen == ["v1", "v1"]
    assert read_best(sweep.uri, options)["trial_id"] == "v2"
    publish_best(sweep, v2, {**MANIFEST, "trial_id": "v3"})
    keys = [o["Key"] for o in s3_client(s3_server).list_objects_v2(Bucket=bucket)["Contents"]]
    folders = {k.split("/")[3] for k in keys if k.startswith("sweeps/demo/best/checkpoint-")}
    assert len(folders) == 2  # the current and the previous version; older ones are collected


def test_server_stopped_mid_publish(make_bucket, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = MotoServer().start()
    try:
        s3_client(server.endpoint_url).create_bucket(Bucket="midway")
        sweep = s3_location(server.endpoint_url, "midway")
        publish_best(sweep, make_checkpoint(tmp_path / "v1", FILES), {**MANIFEST, "trial_id": "v1"})
        caplog.set_level(logging.WARNING, logger="orchestrator.storage")
        with pytest.raises(StorageError) as info:
            publish_best(sweep, make_checkpoint(tmp_path / "v2", {f"f{i}.bin": os.urandom(1000) for i in range(4)}),
                         {**MANIFEST, "trial_id": "v2"}, on_file=lambda rel, _d: server.stop())
        assert "cannot reach the S3 endpoint" in str(info.value) and "\n" not in str(info.value)
        assert any("retrying" in r.getMessage() for r in caplog.records)
        server.start()
        best = load_best(sweep.uri, to_dir=tmp_path / "after", storage_options={"endpoint_url": server.endpoint_url})
        assert best.trial_id == "v1" and (best.checkpoint_path / "model.pt").read_bytes() == FILES["model.pt"]
    finally:
        server.stop()


# --- redaction ---------------------------------------------------------------------------------------------------

def test_redaction() -> None:
    config = {"lr": 1e-3, "max_tokens": 64, "tokenizer": "bpe", "hf_token": "hf_x", "db": {"password": "p"},
              "apiKey": "k", "endpoint": "https://user:pw@example.com/x", "layers": [{"secret": 1}]}
    out = redact(config)
    assert out["lr"] == 1e-3 and out["max_tokens"] == 64 and out["tokenizer"] == "bpe"
    assert out["hf_token"] == out["db"]["password"] == out["apiKey"] == out["layers"][0]["secret"] == REDACTED
    assert out["endpoint"] == f"https://{REDACTED}@example.com/x" and config["hf_token"] == "hf_x"


# --- a Ray Tune sweep into s3:// -------------------------------------------------------------------------------

def test_ray_sweep_into_s3_then_publish_and_load(ray_local, s3_server: str, make_bucket, tmp_path: Path) -> None:
    from ray import tune

    def tiny(config: dict) -> None:
        import tempfile

        for step in range(1, 4):
            with tempfile.TemporaryDirectory() as folder:
                Path(folder, "model.txt").write_text(f"x={config['x']} step={step}")
                tune.report({"score": config["x"] * step}, checkpoint=tune.Checkpoint.from_directory(folder))

    bucket = make_bucket()
    storage = s3_location(s3_server, bucket, "sweeps")
    preflight(storage)
    tuner = tune.Tuner(
        tiny,
        param_space={"x": tune.grid_search([1, 2])},
        tune_config=tune.TuneConfig(metric="score", mode="max"),
        run_config=tune.RunConfig(name="demo", storage_path=storage.path, storage_filesystem=storage.filesystem,
                                  checkpoint_config=tune.CheckpointConfig(num_to_keep=1), verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    best = results.get_best_result()
    assert isinstance(best.checkpoint.filesystem, pafs.S3FileSystem)
    keys = [o["Key"] for o in s3_client(s3_server).list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.startswith("sweeps/demo/experiment_state") for k in keys)
    assert any("/checkpoint_" in k and k.endswith("model.txt") for k in keys)
    assert "sweeps/demo/tuner.pkl" in keys  # Ray pickles storage_filesystem here: it must hold no credentials
    for key in keys:
        body = s3_client(s3_server).get_object(Bucket=bucket, Key=key)["Body"].read()
        assert b"never-stored" not in body, key

    sweep = storage.join("demo")
    publish_best(sweep, best.checkpoint, {"config": best.config, "metric": "score",
                                          "metric_value": best.metrics["score"], "mode": "max",
                                          "trial_id": best.metrics["trial_id"]})
    loaded = load_best(sweep.uri, to_dir=tmp_path / "best", storage_options={"endpoint_url": s3_server})
    assert loaded.config == {"x": 2} and loaded.metric_value == 6
    assert (loaded.checkpoint_path / "model.txt").read_text() == "x=2 step=3"


# --- CLI: hpo best / fetch / train --from-best ----------------------------------------------------------------

def test_cli_best_fetch_and_train_from_s3(s3_server: str, make_bucket, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from orchestrator.cli.main import main

    bucket = make_bucket()
    sweep = s3_location(s3_server, bucket)
    config = {"dataset": "digits", "model": {"name": "knn", "n_neighbors": 3}, "scaler": "standard"}
    publish_best(sweep, make_checkpoint(tmp_path / "ck", FILES),
                 {**MANIFEST, "config": config, "spec": {"trainable": "sklearn_classifier", "config": {}}})
    endpoint = ["--endpoint-url", s3_server]

    assert main(["best", sweep.uri, *endpoint]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == config
    assert main(["best", sweep.uri, "--format", "json", *endpoint]) == 0
    assert json.loads(capsys.readouterr().out) == config
    assert main(["fetch", sweep.uri, "--to", str(tmp_path / "got"), *endpoint]) == 0
    assert "sha256 verified" in capsys.readouterr().out
    assert (tmp_path / "got" / "meta" / "info.json").read_bytes() == FILES["meta/info.json"]
    assert main(["best", f"s3://{bucket}/sweeps/missing", *endpoint]) == 2
    assert "nothing has been published" in capsys.readouterr().err

    assert main(["train", "--from-best", sweep.uri, "--out", f"s3://{bucket}/final", *endpoint]) == 0
    assert yaml.safe_load(capsys.readouterr().out.split("final model")[0])["test_metrics"]["test_accuracy"] > 0.9
    final = json.loads(s3_client(s3_server).get_object(Bucket=bucket, Key="final/final.json")["Body"].read())
    assert final["config"] == config and final["from_best"] == sweep.uri and "model.joblib" in final["files"]


def test_publish_without_checkpoint_locally(tmp_path: Path) -> None:
    sweep = resolve_storage(f"file://{tmp_path}/runs/demo")
    assert publish_best(sweep, None, MANIFEST) == str(tmp_path / "runs" / "demo" / "best")
    best = load_best(str(tmp_path / "runs" / "demo"))
    assert best.checkpoint_path is None and best.manifest["files"] == {} and best.config["lr"] == 0.1
    with pytest.raises(StorageError, match="no checkpoint was published"):
        fetch_best(sweep.uri, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "runs" / "demo" / "best").iterdir()) == ["best.json"]
