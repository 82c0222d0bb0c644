"""Warm start on the CASH objective: does a Bayesian sweep told an earlier sweep's 60 observations reach the regret a
cold sweep has after 60 evaluations in at most 30 (half) of its own evaluations?

Per seed s: the earlier sweep is the cold sweep of seed s + 1 (60 evaluations); the cold sweep is seed s; the warm
sweep is seed s told every observation of the earlier one, then run for 60 evaluations of its own; it matches at the
first of them as good as the cold sweep's best after 60. Only the warm sweep's own evaluations count; the told ones
are free. Same space both times (no edit), concurrency 1, default `search.bayes` options. Two warm sweeps per seed,
same seeds, same run: **before**, told through `add_evaluated_point` (every told point takes the place of an
initial point: 60 told points leave none), and **after**, told through `tell_warm_start`, what `search.warm_start`
does (`runner.warm_start.tell`): each arm keeps `WARM_START_EXPLORE` initial points, suggested first.
Usage: `nice python benchmarks/warm_start.py --seeds 10 --jobs 2` (`--first-seed 10`: seeds 10-19).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from cash_objective import CASH_BEST, CASH_SPACE, cash_accuracy  # noqa: E402
from orchestrator.searchers.skopt_search import WARM_START_EXPLORE, SkOptSearch  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "warm_start.json"
BUDGET = 60
VARIANTS = ("before", "after")

Trajectory = list[tuple[dict, float]]


def sweep(seed: int, told: Trajectory = (), variant: str = "after") -> Trajectory:
    """(config, accuracy) of `BUDGET` evaluations in order, after telling `told` the `variant`'s way."""
    searcher = SkOptSearch(space=CASH_SPACE, metric="y", mode="max", random_state=seed)
    if variant == "after":
        searcher.tell_warm_start(told)
    else:
        for config, value in told:
            searcher.add_evaluated_point(config, value)
    out: Trajectory = []
    for i in range(BUDGET):
        config = searcher.suggest(str(i))
        value = cash_accuracy(config)
        searcher.on_trial_complete(str(i), {"y": value})
        out.append((config, value))
    return out


def regret_at(trajectory: Trajectory, n: int) -> float:
    return CASH_BEST - max(v for _, v in trajectory[:n])


def warm_row(args: tuple[int, Trajectory, Trajectory]) -> dict[str, Any]:
    """One seed: the cold sweep's regrets, then each variant's evaluations to match it and its own regrets."""
    seed, cold, told = args
    target = max(v for _, v in cold)
    row: dict[str, Any] = {"seed": seed, "cold_regret_at_30": regret_at(cold, 30),
                           "cold_regret_at_60": regret_at(cold, 60), "told_best_regret": regret_at(told, BUDGET)}
    for variant in VARIANTS:
        warm = sweep(seed, told, variant)
        matched = next((i + 1 for i, (_, v) in enumerate(warm) if v >= target), None)
        row[variant] = {"evaluations_to_match": matched, "regret_at_30": regret_at(warm, 30),
                        "regret_at_60": regret_at(warm, 60)}
    return row


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Seeds within half the evaluations and medians over seeds (not matched within 60 counts as infinite)."""
    out: dict[str, Any] = {"cold": {"median_regret_at_30": float(np.median([r["cold_regret_at_30"] for r in rows])),
                                    "median_regret_at_60": float(np.median([r["cold_regret_at_60"] for r in rows]))}}
    for variant in VARIANTS:
        needed = [r[variant]["evaluations_to_match"] for r in rows]
        out[variant] = {
            "within_half": sum(n is not None and n <= BUDGET // 2 for n in needed),
            "median_evaluations_to_match": float(np.median([np.inf if n is None else n for n in needed])),
            "median_regret_at_30": float(np.median([r[variant]["regret_at_30"] for r in rows])),
            "median_regret_at_60": float(np.median([r[variant]["regret_at_60"] for r in rows])),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed + 1, ...")
    parser.add_argument("--jobs", type=int, default=1, help="processes (seeds are independent)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    with Pool(args.jobs) as pool:
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        cold = dict(zip([*seeds, seeds[-1] + 1], pool.map(sweep, [*seeds, seeds[-1] + 1])))
        rows = []
        for row in pool.imap(warm_row, [(s, cold[s], cold[s + 1]) for s in seeds]):
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"summary": {"seeds": len(rows), "budget": BUDGET, "warm_start_explore": WARM_START_EXPLORE,
                          "seconds": round(time.perf_counter() - started, 1), "jobs": args.jobs,
                          "python": platform.python_version(), **summary(rows)},
              "rows": rows}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"]))


if __name__ == "__main__":
    main()
