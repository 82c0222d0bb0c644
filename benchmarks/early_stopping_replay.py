"""Early stopping replayed: the learning curves that `early_stopping.py`'s `none` sweeps recorded
(every trial's validation accuracy at each of its 27 epochs) fed through the schedulers hpo
builds, as a sweep would feed them, at `max_concurrent` 1 and 4.

Why: on this shared 2-core machine one benchmark sweep takes minutes; a replay takes
milliseconds, so the defaults of `hyperband` and `median` could be compared over many seeds and
trial orders before `early_stopping.py` checked the chosen ones. What a replay leaves out: the
searcher (random search's trials in recorded or shuffled order) and real timing (each trial's
epoch time is taken from its size: batch 16 twice as slow as 32, wider and deeper nets slower,
then jittered by +-20%). Per replay: epochs trained and the best accuracy any trial reached,
against no stopping (every curve to the end).

Run: `.venv/bin/python benchmarks/early_stopping_replay.py [--orders 5] [--methods ...]`;
`--record 0 1 2 3` first runs early_stopping.py's `none` sweeps (27 trials x 27 epochs) for those
search seeds and writes their curves to benchmarks/results/early_stopping_curves.json.
"""
from __future__ import annotations

import argparse
import heapq
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_trainables import ROOT, run_sweep_capturing, start_ray  # noqa: E402
from benchmarks.early_stopping import scheduler_of, spec_text  # noqa: E402

CURVES = ROOT / "benchmarks" / "results" / "early_stopping_curves.json"
RESULTS = ROOT / "benchmarks" / "results" / "early_stopping_replay.json"
TRIALS = MAX_T = 27
METRIC = "val_accuracy"
VARIANTS = ("asha", "hyperband", "hyperband_before", "median", "median_before")


class ReplayedTrial:
    """What a scheduler reads of a trial: its id (and it is hashable)."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


def record(seeds: Sequence[int], out: Path) -> None:
    """Run the `none` sweeps of `early_stopping.py` and write every trial's curve."""
    from orchestrator.spec import load_spec_text

    start_ray(2)
    workdir = Path(tempfile.mkdtemp(prefix="hpo-es-curves-"))
    curves: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        spec = load_spec_text(spec_text("none", seed, TRIALS, MAX_T, 0, 0.5), "none.yaml")
        _, grid = run_sweep_capturing(spec, workdir)
        curves[str(seed)] = [{"config": r.config, METRIC: r.metrics_dataframe.sort_values("training_iteration")[
            METRIC].tolist()} for r in grid]
    out.write_text(json.dumps(curves, default=str) + "\n")
    print(f"wrote {out}")


def scheduler_factory(variant: str, seed: int) -> Callable[[], Any]:
    """A fresh scheduler of `variant` as hpo builds it from early_stopping.py's spec at search seed
    `seed` (which also seeds hyperband's bracket draw)."""
    from orchestrator.schedulers import build_scheduler
    from orchestrator.spec import load_spec_text

    spec = load_spec_text(spec_text(variant, seed, TRIALS, MAX_T), f"{variant}.yaml")

    def make() -> Any:
        with scheduler_of(variant):
            scheduler = build_scheduler(spec)
        scheduler.set_search_properties(METRIC, "max")
        return scheduler
    return make


def replay(scheduler: Any, curves: Sequence[Sequence[float]], order: Sequence[int], concurrency: int,
           epoch_s: Sequence[float]) -> tuple[int, float]:
    """Feed the curves through `scheduler`, `concurrency` trials at a time in `order`, each epoch
    reported when it would end; returns the epochs trained and the best value reached."""
    from ray.tune.schedulers import TrialScheduler

    waiting, running, trained, seq = list(order), [], {}, 0
    trials: dict[int, ReplayedTrial] = {}

    def start(now: float) -> None:
        nonlocal seq
        index = waiting.pop(0)
        trials[index] = ReplayedTrial(str(index))
        scheduler.on_trial_add(None, trials[index])
        heapq.heappush(running, (now + epoch_s[index], seq, index, 1))
        seq += 1

    while waiting and len(running) < concurrency:
        start(0.0)
    while running:
        now, _, index, t = heapq.heappop(running)
        trained[index] = t
        result = {"training_iteration": t, METRIC: curves[index][t - 1]}
        if scheduler.on_trial_result(None, trials[index], result) == TrialScheduler.STOP or t >= len(curves[index]):
            scheduler.on_trial_complete(None, trials[index], result)
            if waiting:
                start(now)
        else:
            heapq.heappush(running, (now + epoch_s[index], seq, index, t + 1))
            seq += 1
    return sum(trained.values()), max(max(curves[i][:t]) for i, t in trained.items())


def epoch_times(configs: Sequence[dict[str, Any]]) -> list[float]:
    """Relative epoch time from a trial's size: steps per epoch times the width of its layers."""
    return [(64 / c["batch_size"]) * (0.6 + c["hidden_sizes"] * c["num_layers"] / 128) for c in configs]


def measure(variant: str, recorded: dict[str, list[dict[str, Any]]], concurrency: int, orders: int) -> dict[str, Any]:
    """Every recorded seed in its recorded order and `orders - 1` shuffled ones: epoch ratio and
    best-accuracy difference (points) to no stopping."""
    ratios, deltas = [], []
    for seed, trials in recorded.items():
        make = scheduler_factory(variant, int(seed))
        curves = [trial[METRIC] for trial in trials]
        base_s = epoch_times([trial["config"] for trial in trials])
        rng = np.random.RandomState(int(seed))
        for k in range(orders):
            order = list(range(len(curves))) if k == 0 else [int(i) for i in rng.permutation(len(curves))]
            jittered = [s * rng.uniform(0.8, 1.2) for s in base_s]
            epochs, best = replay(make(), curves, order, concurrency, jittered)
            ratios.append(epochs / sum(len(c) for c in curves))
            deltas.append(100 * (best - max(max(c) for c in curves)))
    return {"variant": variant, "max_concurrent": concurrency, "replays": len(ratios),
            "epoch_ratio": statistics.median(ratios), "epoch_ratio_p90": float(np.percentile(ratios, 90)),
            "acc_delta_points": statistics.median(deltas), "worst_delta_points": min(deltas),
            "share_losing_over_half_point": sum(d < -0.5 for d in deltas) / len(deltas)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=int, nargs="+", metavar="SEED", help="record these seeds' curves first")
    parser.add_argument("--curves", type=Path, default=CURVES)
    parser.add_argument("--orders", type=int, default=5, help="trial orders per seed (the recorded one first)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--methods", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.record:
        record(args.record, args.curves)
    recorded = json.loads(args.curves.read_text())
    rows = [measure(v, recorded, c, args.orders) for c in args.concurrency for v in args.methods]
    print(f"seeds {list(recorded)}, {args.orders} trial orders each; medians over the replays; "
          f"x none: epochs over no stopping's; d pts: best accuracy minus no stopping's")
    print(f"{'method':<17} {'conc':>4} {'x none':>7} {'p90':>5} {'d pts':>6} {'worst':>6} {'< -0.5':>6}")
    for r in rows:
        print(f"{r['variant']:<17} {r['max_concurrent']:>4} {r['epoch_ratio']:>7.2f} {r['epoch_ratio_p90']:>5.2f} "
              f"{r['acc_delta_points']:>6.2f} {r['worst_delta_points']:>6.2f} "
              f"{r['share_losing_over_half_point']:>6.2f}")
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.write_text(json.dumps({"benchmark": "early_stopping_replay", "seeds": list(recorded),
                                    "orders": args.orders, "created": created, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
