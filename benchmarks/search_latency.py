"""Suggest latency and driver memory of `SkOptSearch` over a long sequential sweep (Hartmann6, 6-D).

One searcher is driven through suggest / on_trial_complete for `--trials` trials; the wall and CPU
time of the suggests just before each checkpoint (100, 300, 1000 observations) and the process's
resident memory (VmRSS) at each checkpoint are recorded. `--max-fit 0` lifts the cap on the points
a GP is fitted on; `--told N` instead tells N random observations up front and times the
suggests after them (for settings too slow to sweep). Writes `benchmarks/results/search_latency.json`.

    nice .venv/bin/python benchmarks/search_latency.py [--trials 1000] [--max-fit 300] [--label capped]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from hard_objectives import hartmann6  # noqa: E402
from orchestrator.searchers.skopt_search import SkOptSearch  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "search_latency.json"
SPACE_DIMS = 6


def rss_mb() -> float:
    """The resident memory of this process, in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_searcher(max_fit: int, seed: int, told: int) -> SkOptSearch:
    from ray import tune

    space = {f"x{i}": tune.uniform(0, 1) for i in range(SPACE_DIMS)}
    points = [{f"x{i}": float(v) for i, v in enumerate(row)} for row in np.random.RandomState(seed).rand(told, 6)]
    searcher = SkOptSearch(space=space, metric="y", mode="min", random_state=seed, points_to_evaluate=points or None,
                           evaluated_rewards=[hartmann6(p) for p in points] if points else None)
    searcher._settings.max_fit_points = max_fit
    return searcher


def timed_suggest(searcher: SkOptSearch, trial_id: str) -> tuple[float, float]:
    """(wall, cpu) seconds of one suggest, whose trial is then completed."""
    start, start_cpu = time.perf_counter(), time.process_time()
    config = searcher.suggest(trial_id)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    searcher.on_trial_complete(trial_id, {"y": hartmann6(config)})
    return wall, cpu


def summary(times: list[tuple[float, float]], rss: float) -> dict[str, float]:
    wall, cpu = np.array(times).T
    return {"median_wall_s": float(np.median(wall)), "mean_wall_s": float(wall.mean()),
            "max_wall_s": float(wall.max()), "median_cpu_s": float(np.median(cpu)), "mean_cpu_s": float(cpu.mean()),
            "max_cpu_s": float(cpu.max()), "suggests": len(wall), "rss_mb": round(rss, 1)}


def sweep(trials: int, checkpoints: list[int], window: int, max_fit: int, seed: int) -> dict[str, dict]:
    """Sequential sweep; stats of the `window` suggests before each checkpoint, RSS at it."""
    searcher = make_searcher(max_fit, seed, 0)
    out: dict[str, dict] = {}
    times: list[tuple[float, float]] = []
    start = time.perf_counter()
    for i in range(trials):
        times.append(timed_suggest(searcher, str(i)))
        if i + 1 in checkpoints:
            out[str(i + 1)] = summary(times[-window:], rss_mb())
            print(i + 1, out[str(i + 1)], f"{time.perf_counter() - start:.0f}s", flush=True)
    return out


def after_told(told: list[int], window: int, max_fit: int, seed: int) -> dict[str, dict]:
    """For each n: tell n random observations, then time `window` suggests."""
    out = {}
    for n in told:
        searcher = make_searcher(max_fit, seed, n)
        out[str(n)] = summary([timed_suggest(searcher, f"{n}-{i}") for i in range(window)], rss_mb())
        print(n, out[str(n)], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--checkpoints", nargs="*", type=int, default=[100, 300, 1000])
    parser.add_argument("--window", type=int, default=20, help="suggests timed per checkpoint")
    parser.add_argument("--max-fit", type=int, default=300, help="GP fitted on at most this many points (0: all)")
    parser.add_argument("--told", nargs="*", type=int, default=None, help="tell these many points up front instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    label = args.label or (f"max_fit={args.max_fit}" + (" told" if args.told else " sweep"))
    if args.told:
        result = {"mode": "told", "points": after_told(args.told, args.window, args.max_fit, args.seed)}
    else:
        result = {"mode": "sweep", "points": sweep(args.trials, args.checkpoints, args.window, args.max_fit, args.seed)}
    result.update(max_fit=args.max_fit, window=args.window, seed=args.seed, cpu_count=os.cpu_count(),
                  load_avg=os.getloadavg(), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    runs = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs[label] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
