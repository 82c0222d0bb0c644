"""GPU packing: trials per minute of the GPU-sized example (`search_spaces/cnn_gpu.yaml`, `torch_resnet`) at 1, 2, 4
and 8 trials per GPU (resources.gpu 1, 0.5, 0.25, 0.125) and on the CPU, each a whole `hpo run --verbose` with its
phase timings (start Ray, first trial, sweep, shutdown, publish, outside the sweep).

Run: `.venv/bin/python benchmarks/gpu.py [--trials 24] [--epochs 4] [--cpu-trials 2] [--cpu-epochs 1] [--address A]
[--probe] [--mps]`; prints a table and writes benchmarks/results/gpu.json. `--address` runs every variant on one running Ray
(`ray start --head`), so Ray's start-up is paid once. `--probe` first measures the packing ceiling without Ray: 1, 2, 4
and 8 plain processes training the same model on the one GPU at once, their summed images per second. `--mps` starts
NVIDIA MPS and one Ray head on it first (the Ray-level figure under MPS), and stops both at the end. Every trial trains the same architecture (width 32, one block per stage,
batch 256) on 8192 3x32x32 images for `--epochs` epochs, so trials per minute compare across variants; the CPU
variant (4 CPUs per trial) runs fewer, shorter trials and is given per 8-epoch-trial equivalent too. Early stopping
is off: every trial runs all its epochs. On a machine without a GPU it says so in one line and exits 0.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "gpu.json"
SPEC = ROOT / "search_spaces" / "cnn_gpu.yaml"
GPU_SHARES = (1.0, 0.5, 0.25, 0.125)
PHASE_LINE = re.compile(r"^\s+(?P<phase>[a-z A-Z()]+?)\s+(?P<seconds>[0-9.]+) s$")


def gpu_name() -> str | None:
    """The first CUDA device's name, or None without one."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def run_variant(label: str, overrides: list[str], storage: Path, address: str | None = None) -> dict:
    """One `hpo run --verbose` in a fresh process; its trials, phase timings and wall clock."""
    command = [sys.executable, "-m", "orchestrator.cli.main", "run", str(SPEC), "--quiet", "--verbose", "--fresh",
               "--storage", str(storage), *[arg for o in overrides for arg in ("--set", o)],
               *(["--address", address] if address else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{label}: hpo run failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    phases = {m["phase"].strip(): float(m["seconds"]) for m in map(PHASE_LINE.match, done.stdout.splitlines()) if m}
    trials = int(re.search(r"^trials: (\d+)", done.stdout, re.M).group(1))
    return {"variant": label, "trials": trials, "wall_s": round(wall, 1), "phases": phases,
            "trials_per_min": round(60 * trials / phases["sweep"], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24,
                        help="trials per GPU variant (several per slot, so reused workers amortise their start-up)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per trial on the GPU")
    parser.add_argument("--cpu-trials", type=int, default=2)
    parser.add_argument("--cpu-epochs", type=int, default=1)
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--address", help="run every variant on this running Ray instead of starting one each")
    parser.add_argument("--probe", action="store_true", help="first measure packing without Ray (plain processes)")
    parser.add_argument("--shares", type=float, nargs="+", default=list(GPU_SHARES), help="resources.gpu values")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a spec override for every variant (e.g. checkpoint.keep=16)")
    parser.add_argument("--mps", action="store_true",
                        help="start NVIDIA MPS and one Ray head on it, run every variant there, stop both")
    args = parser.parse_args()
    name = gpu_name()
    if name is None:
        print("benchmarks/gpu.py: no GPU on this machine (torch.cuda.is_available() is False): nothing measured")
        return 0
    if args.mps:
        with mps_ray_head() as address:
            args.address = address
            return measure(args, name)
    return measure(args, name)


def measure(args: argparse.Namespace, name: str) -> int:
    """Run the variants, print the table and write results/gpu.json."""
    probe = packing_probe() if args.probe else []
    fixed = ["space.width=32", "space.blocks=1", "space.batch_size=256", "early_stopping={method: none}",
             "search.max_concurrent=0", *args.overrides]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hpo-gpu-bench-") as tmp:
        for share in args.shares:
            label = f"gpu {share:g} ({round(1 / share)} per GPU)"
            rows.append(run_variant(label, [*fixed, f"resources.gpu={share}", f"search.num_samples={args.trials}",
                                            f"config.max_epochs={args.epochs}"], Path(tmp), args.address))
            print(_row(rows[-1]), flush=True)
        if not args.skip_cpu:
            row = run_variant("cpu (4 CPUs per trial)", [*fixed, "resources.gpu=0", "resources.cpu=4",
                                                         f"search.num_samples={args.cpu_trials}",
                                                         f"config.max_epochs={args.cpu_epochs}"], Path(tmp),
                              args.address)
            row["trials_per_min"] = round(row["trials_per_min"] * args.cpu_epochs / args.epochs, 2)
            rows.append(row)
            print(_row(row), flush=True)
    base = rows[0]["trials_per_min"]
    for row in rows:
        row["speedup_vs_gpu_1"] = round(row["trials_per_min"] / base, 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"gpu": name, "cpus": os.cpu_count(), "epochs": args.epochs, "rows": rows,
                                   "overrides": args.overrides,
                                   "probe": probe, "shared_ray": bool(args.address), "mps": args.mps},
                                  indent=2) + "\n", encoding="utf-8")
    print(f"\n{name}, {os.cpu_count()} CPUs; trials/min of {args.epochs}-epoch trials (speed-up vs 1 per GPU):")
    for row in rows:
        print(f"  {row['variant']:<26} {row['trials_per_min']:7.2f} ({row['speedup_vs_gpu_1']:.2f}x)")
    print(f"written: {RESULTS}")
    return 0


PROBE_CONFIG = {"width": 32, "blocks": 1, "batch_size": 256, "train_size": 16384, "threads": 1}
PROBE_EPOCHS = 3


def _probe_worker(config: dict, start: Any, results: Any) -> None:
    """Warm up (CUDA context, data, cuDNN autotuning), wait for the others, then time `PROBE_EPOCHS` epochs."""
    from orchestrator import trial
    from trainables.torch_resnet import torch_resnet

    trial.run_locally(torch_resnet, {**config, "max_epochs": 1})
    start.wait()
    began = time.perf_counter()
    trial.run_locally(torch_resnet, {**config, "max_epochs": PROBE_EPOCHS})
    results.put(time.perf_counter() - began)


def packing_probe(counts: tuple[int, ...] = (1, 2, 4, 8), config: dict = PROBE_CONFIG) -> list[dict]:
    """Summed training images/s of N plain processes sharing the GPU: the ceiling packing can reach without Ray."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    rows = []
    for count in counts:
        start, results = context.Barrier(count), context.Queue()
        workers = [context.Process(target=_probe_worker, args=(config, start, results)) for _ in range(count)]
        for worker in workers:
            worker.start()
        seconds = [results.get(timeout=600) for _ in workers]
        for worker in workers:
            worker.join()
        images = count * PROBE_EPOCHS * config["train_size"]
        rows.append({"processes": count, "images_per_s": round(images / max(seconds)),
                     "slowest_s": round(max(seconds), 2)})
        rows[-1]["speedup"] = round(rows[-1]["images_per_s"] / rows[0]["images_per_s"], 2)
        print(f"probe: {count} processes on the GPU: {rows[-1]['images_per_s']} images/s "
              f"({rows[-1]['speedup']}x one)", flush=True)
    return rows


@contextlib.contextmanager
def mps_ray_head() -> Iterator[str]:
    """NVIDIA MPS (so packed trials' kernels run concurrently, not time-sliced) under a fresh Ray head; the address.

    MPS must be up before Ray starts its workers, so the daemon starts first; both are stopped on the way out.
    """
    control = shutil.which("nvidia-cuda-mps-control")
    if control is None:
        raise SystemExit("benchmarks/gpu.py: --mps needs nvidia-cuda-mps-control on PATH (NVIDIA driver utilities)")
    folder = Path(tempfile.mkdtemp(prefix="hpo-mps-"))
    env = {**os.environ, "CUDA_MPS_PIPE_DIRECTORY": str(folder / "pipe"), "CUDA_MPS_LOG_DIRECTORY": str(folder / "log")}
    for key in ("CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_LOG_DIRECTORY"):
        Path(env[key]).mkdir()
        os.environ[key] = env[key]  # the Ray workers and the hpo driver inherit it: their CUDA goes through MPS
    subprocess.run([control, "-d"], env=env, check=True)
    port = 6390
    ray = [sys.executable, "-m", "ray.scripts.scripts"]
    try:
        subprocess.run([*ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                        "--num-gpus", str(torch_device_count()), "--include-dashboard", "false",
                        "--disable-usage-stats"], env=env, check=True, capture_output=True)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([*ray, "stop", "--force"], env=env, capture_output=True)
        subprocess.run([control], input="quit\n", text=True, env=env, capture_output=True)


def torch_device_count() -> int:
    import torch

    return torch.cuda.device_count()


def _row(row: dict) -> str:
    phases = ", ".join(f"{k} {v:.1f}" for k, v in row["phases"].items())
    return f"{row['variant']}: {row['trials']} trials, {row['trials_per_min']} trials/min; {phases}"


if __name__ == "__main__":
    sys.exit(main())
