"""Warm start on the CASH objective: does a Bayesian sweep told an earlier sweep's 60 observations reach the regret a
cold sweep has after 60 evaluations in at most 30 (half) of its own evaluations?

Per seed s: the earlier sweep is the cold sweep of seed s + 1 (60 evaluations); the cold sweep is seed s; the warm
sweep is seed s told (`add_evaluated_point`, what `search.warm_start` does through `runner.warm_start.tell`) every
observation of the earlier one, then run until it matches the cold sweep's best value after 60 (at most 60). Only the
warm sweep's own evaluations count; the told ones are free. Same space both times (no edit), concurrency 1, default
`search.bayes` options. Two warm sweeps per seed, interleaved: told points counting toward `n_initial_points` (as
`add_evaluated_point` does now) and not counting (as before issue 18: told through the searcher's private `_tell`).
Usage: `nice python benchmarks/warm_start.py --seeds 10`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from cash_objective import CASH_BEST, CASH_SPACE, cash_accuracy  # noqa: E402
from orchestrator.searchers.skopt_search import SkOptSearch  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "warm_start.json"
BUDGET = 60


def sweep(seed: int, budget: int, told: list[tuple[dict, float]] = (), target: float | None = None,
          told_as_initial: bool = True) -> list[tuple[dict, float]]:
    """(config, accuracy) in evaluation order; stops early once `target` is reached."""
    searcher = SkOptSearch(space=CASH_SPACE, metric="y", mode="max", random_state=seed)
    for config, value in told:
        if told_as_initial:
            searcher.add_evaluated_point(config, value)
        else:  # the searcher before issue 18: a told point left the initial design as it was
            searcher._tell(*searcher._space.encode(config), value, external=False)
    out: list[tuple[dict, float]] = []
    for i in range(budget):
        config = searcher.suggest(str(i))
        value = cash_accuracy(config)
        searcher.on_trial_complete(str(i), {"y": value})
        out.append((config, value))
        if target is not None and value >= target:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    cold: dict[int, list[tuple[dict, float]]] = {}
    rows = []
    for s in range(args.seeds):  # results are written after every seed: a cut run keeps what it measured
        for seed in (s, s + 1):
            if seed not in cold:
                cold[seed] = sweep(seed, BUDGET)
        cold_best = max(v for _, v in cold[s])
        row = {"seed": s, "cold_regret_at_60": CASH_BEST - cold_best,
               "told_best_regret": CASH_BEST - max(v for _, v in cold[s + 1])}
        for told_as_initial, column in ((False, "warm_before"), (True, "warm_evaluations_to_match")):
            warm = sweep(s, BUDGET, told=cold[s + 1], target=cold_best, told_as_initial=told_as_initial)
            row[column] = len(warm) if max(v for _, v in warm) >= cold_best else None
        rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
        summary = {"seeds": len(rows), "budget": BUDGET, "seconds": round(time.perf_counter() - started, 1),
                   "python": platform.python_version()}
        for column, label in (("warm_before", "before"), ("warm_evaluations_to_match", "now")):
            needed = [r[column] for r in rows]
            summary[label] = {"within_half": sum(n is not None and n <= BUDGET // 2 for n in needed),
                              "median_evaluations_to_match": float(np.median([np.inf if n is None else n
                                                                              for n in needed]))}
        args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary))

if __name__ == "__main__":
    main()
