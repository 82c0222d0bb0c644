"""Publish a 200 MB checkpoint to a local S3 server (moto over HTTP): our publish_best vs plain boto3 upload_file.

Run: `.venv/bin/python benchmarks/s3_publish.py [--size-mb 200] [--repeats 3]`. Prints a table of medians and writes
benchmarks/results/s3_publish.json. Both sides talk to the same ThreadedMotoServer on 127.0.0.1; ours also hashes
every byte (sha256), checks sizes and writes best.json, which the boto3 baseline does not.

For a custom endpoint our S3 filesystem uses the SDK's `when_required` request checksums (plain, SigV4-hashed part
bodies, as boto3 sends over http); a second row forces the AWS SDK default `when_supported` (`aws-chunked` bodies with
a trailing CRC64, which moto decodes in Python).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                  AWS_EC2_METADATA_DISABLED="true")

import boto3  # noqa: E402
import pyarrow.fs as pafs  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from orchestrator.storage import fetch_best, publish_best, resolve_storage  # noqa: E402

BUCKET = "bench-publish"
RESULTS = ROOT / "benchmarks" / "results" / "s3_publish.json"


class FolderCheckpoint:
    """A checkpoint folder on local disk, shaped like ray.tune.Checkpoint (filesystem + path)."""

    def __init__(self, path: Path) -> None:
        self.filesystem = pafs.LocalFileSystem()
        self.path = str(path)


def cpu_seconds() -> float:
    """CPU time of this whole process: the client side and the in-process moto server together."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; CPU time is the steadier figure on a shared machine."""
    started, cpu = time.perf_counter(), cpu_seconds()
    action()
    return time.perf_counter() - started, cpu_seconds() - cpu


def make_checkpoint(folder: Path, size_mb: int) -> Path:
    """One `size_mb` MB file of random bytes (incompressible), like a model's weights."""
    weights = folder / "model.pt"
    with open(weights, "wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(1 << 20))
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=BUCKET)
    sweep = resolve_storage(f"s3://{BUCKET}/sweeps/bench", {"endpoint_url": endpoint})
    chunked = resolve_storage(f"s3://{BUCKET}/sweeps/chunked",
                              {"endpoint_url": endpoint, "request_checksum": "when_supported"})
    manifest = {"config": {"lr": 0.1}, "metric": "loss", "metric_value": 0.5, "mode": "min", "trial_id": "bench"}
    load_before = os.getloadavg()[0]
    times: dict[str, list[tuple[float, float]]] = {
        "boto3 upload_file (defaults)": [], "hpo publish_best": [], "hpo publish_best, when_supported": [],
        "boto3 download_file (defaults)": [], "hpo fetch_best (verified)": []}
    try:
        with tempfile.TemporaryDirectory(prefix="hpo-bench-") as work:
            source = Path(work, "checkpoint")
            source.mkdir()
            weights = make_checkpoint(source, args.size_mb)
            for repeat in range(args.repeats):  # interleaved, so drift in the machine's load hits both alike
                times["boto3 upload_file (defaults)"].append(
                    timed(lambda: client.upload_file(str(weights), BUCKET, f"plain/model-{repeat}.pt")))
                times["hpo publish_best"].append(timed(lambda: publish_best(sweep, FolderCheckpoint(source), manifest)))
                times["hpo publish_best, when_supported"].append(
                    timed(lambda: publish_best(chunked, FolderCheckpoint(source), manifest)))
                times["boto3 download_file (defaults)"].append(
                    timed(lambda: client.download_file(BUCKET, f"plain/model-{repeat}.pt", str(Path(work, "b.pt")))))
                times["hpo fetch_best (verified)"].append(
                    timed(lambda: fetch_best(sweep.uri, Path(work, f"fetched-{repeat}"), {"endpoint_url": endpoint})))
                client.delete_object(Bucket=BUCKET, Key=f"plain/model-{repeat}.pt")
                for leftover in (Path(work, "b.pt"), Path(work, f"fetched-{repeat}", "model.pt")):
                    leftover.unlink(missing_ok=True)
    finally:
        server.stop()

    rows = []
    for name, runs in times.items():
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        rows.append({"method": name, "median_s": round(wall, 3), "mb_per_s": round(args.size_mb / wall, 1),
                     "median_cpu_s": round(cpu, 3), "runs_s": [round(w, 3) for w, _ in runs]})
    load = (round(load_before, 1), round(os.getloadavg()[0], 1))
    print(f"{args.size_mb} MB checkpoint, ThreadedMotoServer on 127.0.0.1, median of {args.repeats} runs, "
          f"{os.cpu_count()} CPU(s), load average {load[0]} -> {load[1]}")
    print(f"{'method':34} {'median s':>9} {'MB/s':>8} {'CPU s':>7}")
    for row in rows:
        print(f"{row['method']:34} {row['median_s']:9.2f} {row['mb_per_s']:8.1f} {row['median_cpu_s']:7.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "size_mb": args.size_mb, "repeats": args.repeats, "server": "moto ThreadedMotoServer (HTTP, 127.0.0.1)",
        "python": platform.python_version(), "cpus": os.cpu_count(), "load_average_before_after": load,
        "results": rows,
    }, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
