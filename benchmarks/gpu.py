"""GPU packing: trials per minute of the GPU-sized example (`search_spaces/cnn_gpu.yaml`, `torch_resnet`) at 1, 2, 4
and 8 trials per GPU (resources.gpu 1, 0.5, 0.25, 0.125) and on the CPU, each a whole `hpo run --verbose` with its
phase timings (start Ray, first trial, sweep, shutdown, publish, outside the sweep).

Run: `.venv/bin/python benchmarks/gpu.py [--trials 8] [--epochs 4] [--cpu-trials 2] [--cpu-epochs 1]`; prints a table
and writes benchmarks/results/gpu.json. Every trial trains the same architecture (width 32, one block per stage,
batch 256) on 8192 3x32x32 images for `--epochs` epochs, so trials per minute compare across variants; the CPU
variant (4 CPUs per trial) runs fewer, shorter trials and is given per 8-epoch-trial equivalent too. Early stopping
is off: every trial runs all its epochs. On a machine without a GPU it says so in one line and exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "gpu.json"
SPEC = ROOT / "search_spaces" / "cnn_gpu.yaml"
GPU_SHARES = (1.0, 0.5, 0.25, 0.125)
PHASE_LINE = re.compile(r"^\s+(?P<phase>[a-z A-Z]+?)\s+(?P<seconds>[0-9.]+) s$")


def gpu_name() -> str | None:
    """The first CUDA device's name, or None without one."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def run_variant(label: str, overrides: list[str], storage: Path) -> dict:
    """One `hpo run --verbose` in a fresh process; its trials, phase timings and wall clock."""
    command = [sys.executable, "-m", "orchestrator.cli.main", "run", str(SPEC), "--quiet", "--verbose", "--fresh",
               "--storage", str(storage), *[arg for o in overrides for arg in ("--set", o)]]
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
    parser.add_argument("--trials", type=int, default=8, help="trials per GPU variant")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per trial on the GPU")
    parser.add_argument("--cpu-trials", type=int, default=2)
    parser.add_argument("--cpu-epochs", type=int, default=1)
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args()
    name = gpu_name()
    if name is None:
        print("benchmarks/gpu.py: no GPU on this machine (torch.cuda.is_available() is False): nothing measured")
        return 0
    fixed = ["space.width=32", "space.blocks=1", "space.batch_size=256", "early_stopping={method: none}",
             "search.max_concurrent=0"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hpo-gpu-bench-") as tmp:
        for share in GPU_SHARES:
            label = f"gpu {share:g} ({round(1 / share)} per GPU)"
            rows.append(run_variant(label, [*fixed, f"resources.gpu={share}", f"search.num_samples={args.trials}",
                                            f"config.max_epochs={args.epochs}"], Path(tmp)))
            print(_row(rows[-1]), flush=True)
        if not args.skip_cpu:
            row = run_variant("cpu (4 CPUs per trial)", [*fixed, "resources.gpu=0", "resources.cpu=4",
                                                         f"search.num_samples={args.cpu_trials}",
                                                         f"config.max_epochs={args.cpu_epochs}"], Path(tmp))
            row["trials_per_min"] = round(row["trials_per_min"] * args.cpu_epochs / args.epochs, 2)
            rows.append(row)
            print(_row(row), flush=True)
    base = rows[0]["trials_per_min"]
    for row in rows:
        row["speedup_vs_gpu_1"] = round(row["trials_per_min"] / base, 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"gpu": name, "cpus": os.cpu_count(), "epochs": args.epochs, "rows": rows},
                                  indent=2) + "\n", encoding="utf-8")
    print(f"\n{name}, {os.cpu_count()} CPUs; trials/min of {args.epochs}-epoch trials (speed-up vs 1 per GPU):")
    for row in rows:
        print(f"  {row['variant']:<26} {row['trials_per_min']:7.2f} ({row['speedup_vs_gpu_1']:.2f}x)")
    print(f"written: {RESULTS}")
    return 0


def _row(row: dict) -> str:
    phases = ", ".join(f"{k} {v:.1f}" for k, v in row["phases"].items())
    return f"{row['variant']}: {row['trials']} trials, {row['trials_per_min']} trials/min; {phases}"


if __name__ == "__main__":
    sys.exit(main())
