"""`hpo ensemble --top 5` against the single best trial on the held-out test split, on small sweeps of
`cash_digits.yaml` and `mlp_asha.yaml` (several sweep seeds; sizes below, cut to fit a 2-core machine).

Both scores come from the same search checkpoints (trained on the training rows only, as in the sweep); the single
best is the top trial by validation metric. Usage: `nice python benchmarks/ensemble.py --seeds 3`.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from orchestrator import build_ensemble, run_sweep

SPECS = Path(__file__).resolve().parents[1] / "search_spaces"
RESULTS = Path(__file__).parent / "results" / "ensemble.json"
# spec -> overrides making it small enough (trials, epochs)
SWEEPS = {
    "cash_digits.yaml": ["search.num_samples=14", "search.max_concurrent=2", "early_stopping.max_t=6"],
    "mlp_asha.yaml": ["search.num_samples=12", "search.max_concurrent=2", "config.max_epochs=9",
                      "early_stopping.max_t=9"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hpo-bench-ensemble-") as storage:
        for spec, overrides in SWEEPS.items():
            for seed in range(args.seeds):
                started = time.perf_counter()
                result = run_sweep(SPECS / spec, storage=storage, quiet=True,
                                   overrides=[*overrides, f"search.seed={seed}", f"name=ens-{Path(spec).stem}-{seed}"])
                for method in ("mean", "vote"):
                    ens = build_ensemble(result.sweep_uri, top=args.top, method=method)
                    rows.append({"spec": spec, "seed": seed, "method": method, "top": args.top,
                                 "trials": result.num_trials, "single_best": ens.single_best,
                                 "ensemble": ens.ensemble, "gain": ens.ensemble - ens.single_best,
                                 "seconds": round(time.perf_counter() - started, 1)})
                    print(json.dumps(rows[-1]), flush=True)
    summary = {}
    for spec in SWEEPS:
        for method in ("mean", "vote"):
            gains = [r["gain"] for r in rows if r["spec"] == spec and r["method"] == method]
            summary[f"{spec}|{method}"] = {"mean_gain": sum(gains) / len(gains), "seeds": len(gains),
                                           "ensemble_better": sum(g > 0 for g in gains)}
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
