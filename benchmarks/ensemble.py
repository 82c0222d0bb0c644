"""`hpo ensemble --top 5` against the single best trial on the held-out test split, on small sweeps of
`cash_digits.yaml` and `mlp_asha.yaml` (several sweep seeds; sizes below, cut to fit a 2-core machine).

Both scores come from the same search checkpoints (trained on the training rows only, as in the sweep); the single
best is the top trial by validation metric. Per sweep, interleaved: the candidates as before (the top 5 by validation
metric, stopped early or not; `mean`, `vote`) and now (the best and the next best not stopped early; `mean`, `vote`,
`greedy`). Usage: `nice python benchmarks/ensemble.py --seeds 3`.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from orchestrator import build_ensemble, run_sweep
from orchestrator.reuse import ensemble as ensemble_module

SPECS = Path(__file__).resolve().parents[1] / "search_spaces"
RESULTS = Path(__file__).parent / "results" / "ensemble.json"
# spec -> overrides making it small enough (trials, epochs)
SWEEPS = {
    "cash_digits.yaml": ["search.num_samples=14", "search.max_concurrent=2", "early_stopping.max_t=6"],
    "mlp_asha.yaml": ["search.num_samples=12", "search.max_concurrent=2", "config.max_epochs=9",
                      "early_stopping.max_t=9"],
}
# (candidates, method): "before" is the top K by validation metric, as hpo ensemble chose them until now
ARMS = (("before", "mean"), ("before", "vote"), ("now", "mean"), ("now", "vote"), ("now", "greedy"))


def top_by_validation(ranked: Any, top: int) -> list[str]:
    """The candidates before: the top K trials by validation metric, stopped early or not."""
    return [str(t) for t in ranked["trial_id"]][:top]


def ensemble_row(sweep_uri: str, top: int, candidates: str, method: str) -> dict[str, Any]:
    if candidates == "before":
        with mock.patch.object(ensemble_module, "_candidates", top_by_validation):
            result = build_ensemble(sweep_uri, top=top, method=method)
    else:
        result = build_ensemble(sweep_uri, top=top, method=method)
    return {"candidates": candidates, "method": method, "single_best": result.single_best,
            "ensemble": result.ensemble, "gain": result.ensemble - result.single_best,
            "pool": len(result.candidates), "members": len(result.members),
            "weights": [round(w, 3) for w in result.weights]}


def sweep_with_retries(spec: str, storage: str, overrides: list[str], tries: int = 3) -> Any:
    """run_sweep, again from scratch when the local Ray failed to start (it times out on an overloaded machine)."""
    for attempt in range(tries):
        try:
            return run_sweep(SPECS / spec, storage=storage, quiet=True, overrides=overrides, fresh=attempt > 0)
        except Exception as error:  # noqa: BLE001 - Ray's start-up timeout is a bare Exception
            if attempt == tries - 1 or "timed out during startup" not in str(error):
                raise
            print(f"retrying {spec}: {error}", flush=True)
            time.sleep(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--add-to", type=Path, help="a results file whose rows to keep (a run for more seeds)")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = json.loads(args.add_to.read_text())["rows"] if args.add_to else []
    with tempfile.TemporaryDirectory(prefix="hpo-bench-ensemble-") as storage:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for spec, overrides in SWEEPS.items():
                started = time.perf_counter()
                result = sweep_with_retries(spec, storage, [*overrides, f"search.seed={seed}",
                                                            f"name=ens-{Path(spec).stem}-{seed}"])
                for candidates, method in ARMS:
                    rows.append({"spec": spec, "seed": seed, "top": args.top, "trials": result.num_trials,
                                 **ensemble_row(result.sweep_uri, args.top, candidates, method),
                                 "seconds": round(time.perf_counter() - started, 1)})
                    print(json.dumps(rows[-1]), flush=True)
                write(args.out, rows)
    print(json.dumps(write(args.out, rows), indent=1))


def write(out: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per spec and arm: mean and median gain over seeds, and on how many seeds the ensemble beat the single best;
    written with every row after each sweep, so a cut run keeps what it measured."""
    summary = {}
    for spec in SWEEPS:
        for candidates, method in ARMS:
            gains = [r["gain"] for r in rows if (r["spec"], r["candidates"], r["method"]) == (spec, candidates, method)]
            if gains:
                summary[f"{spec}|{candidates}|{method}"] = {
                    "mean_gain": float(np.mean(gains)), "median_gain": float(np.median(gains)), "seeds": len(gains),
                    "ensemble_better": sum(g > 0 for g in gains), "ensemble_worse": sum(g < 0 for g in gains)}
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    main()
