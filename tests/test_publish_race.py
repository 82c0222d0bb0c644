"""Two processes publishing to one `best/` at once, on a local folder and on S3 (moto over HTTP): neither deletes the
other's version folder, so whatever manifest ends up current names files that are all there."""
from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from orchestrator.storage import fetch_best, publish_best, read_best, resolve_storage
from test_storage import MANIFEST, make_checkpoint


def _wait_for(flag: Path) -> None:
    deadline = time.time() + 30
    while not flag.exists() and time.time() < deadline:
        time.sleep(0.02)


def _publish(uri: str, options: dict, work: str, trial: str) -> None:
    """"late" pauses once its files are written until "early" has published and cleaned up; "early" starts only
    then: early's switch and cleanup fall in the middle of late's publish."""
    copying, early_done = Path(work) / "late-copying", Path(work) / "early-done"
    checkpoint = make_checkpoint(Path(work) / trial, {f"part{i}.bin": f"{trial}-{i}".encode() * 100 for i in range(4)})
    location = resolve_storage(uri, options)
    if trial == "early":
        _wait_for(copying)
        publish_best(location, checkpoint, {**MANIFEST, "trial_id": trial})
        early_done.touch()
        return

    def pause(_rel: str, _digest: object) -> None:
        copying.touch()
        _wait_for(early_done)

    publish_best(location, checkpoint, {**MANIFEST, "trial_id": trial}, on_file=pause)


def _two_publishers(uri: str, options: dict, work: Path) -> None:
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_publish, args=(uri, options, str(work), trial))
                for trial in ("early", "late")]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0


@pytest.mark.parametrize("on_s3", [False, True])
def test_concurrent_publishes_keep_every_named_file(tmp_path: Path, on_s3: bool,
                                                    request: pytest.FixtureRequest) -> None:
    if on_s3:
        endpoint = request.getfixturevalue("s3_server")
        uri, options = f"s3://{request.getfixturevalue('make_bucket')()}/sweeps/demo", {"endpoint_url": endpoint}
    else:
        uri, options = str(tmp_path / "runs" / "demo"), {}
    publish_best(resolve_storage(uri, options), make_checkpoint(tmp_path / "first", {"m.bin": b"0"}), MANIFEST)
    _two_publishers(uri, options, tmp_path)
    current = read_best(uri, options)
    assert current["trial_id"] == "late"   # the later switch wins
    got = fetch_best(uri, tmp_path / "fetched", options)   # every file the manifest names is there and verifies
    assert (got / "part3.bin").read_bytes() == b"late-3" * 100
    best = resolve_storage(uri, options).join("best")
    names = {info.base_name for info in best.filesystem.get_file_info(pafs.FileSelector(best.path))}
    assert not any(name.startswith(".pending-") for name in names)   # no marker left behind
