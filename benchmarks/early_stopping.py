"""Early stopping: the torch MLP on digits under asha, hyperband, median and none, same trials,
at each `search.max_concurrent` (1, 4, unlimited).

Run: `.venv/bin/python benchmarks/early_stopping.py [--seeds 0 1 2] [--trials 27] [--max-t 27]
[--concurrency 1 4 0] [--cpu 0.5]`.
Prints a table of medians over the search seeds and writes benchmarks/results/early_stopping.json.

Every method gets the same trials: random search with a fixed seed draws the same configs (the
script checks that they are identical), each trial seeded the same way (`seed` in the config).
A sweep goes through `run_sweep` exactly as `hpo run` would (resources `--cpu` per trial on 2
CPUs: 0.5 lets 4 trials run at once, so `max_concurrent` 4 is a real limit; best checkpoint kept
and published). Per sweep: total epochs trained (sum over trials of their last
`training_iteration`), wall time of `run_sweep` (Ray started once, not counted), and the best
validation accuracy any trial reached. Methods are interleaved within a seed and concurrency
(asha, hyperband, median, none, then the next), and the load average is recorded beside each
run. Every method is compared with `none` at the same seed and concurrency. hyperband and median
run at their defaults; `hyperband_before` and `median_before` are what they ran before issue 14
changed those defaults (all of HyperBand's brackets at eta 3; Ray's median rule, grace 3), built
in the same process through the method's table entry with the earlier builder.

Targets (issue 14): every method at every concurrency trains at most 40% of the epochs of none,
with its best validation accuracy within 0.5 points of none's. (Issue 4's, for asha: 35% of the
epochs; wall time falling at least two thirds as much as the epochs do.)
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_trainables import ROOT, load, run_sweep_capturing, start_ray  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "early_stopping.json"
CPUS = 2
METHODS = ("asha", "hyperband", "median", "none", "hyperband_before", "median_before")
# An epoch costs 20-80 ms of CPU (small nets, one thread): cheap enough for the whole run to take
# minutes, heavy enough that the epochs, not the fixed start-up of the Ray workers (importing torch),
# make most of the `none` sweep. Curves cross in this space (sgd with a small lr starts slow and
# catches up, a large lr starts fast and plateaus).
SPEC = """
name: es-{method}-{seed}
trainable: torch_mlp
metric: val_accuracy
mode: max
config:
  dataset: digits
  scaler: standard
  max_epochs: {max_t}
  seed: 0
  torch_threads: 1
space:
  lr: {{loguniform: [3.0e-4, 1.0e-1]}}
  weight_decay: {{loguniform: [1.0e-6, 1.0e-2]}}
  batch_size: {{choice: [16, 32]}}
  optimizer:
    choice:
      sgd:
        momentum: {{uniform: [0.5, 0.95]}}
      adam: {{}}
      rmsprop: {{}}
  hidden_sizes: {{choice: [32, 64, 128]}}
  num_layers: {{randint: [1, 2]}}
  activation: {{choice: [relu, tanh, elu]}}
  dropout: {{uniform: [0.0, 0.3]}}
  lr_schedule: {{choice: [constant, cosine]}}
search: {{method: random, num_samples: {trials}, seed: {seed}, max_concurrent: {max_concurrent}}}
early_stopping: {early_stopping}
resources: {{cpu: {cpu}}}
checkpoint: {{keep: 1}}
"""
EARLY_STOPPING = {
    "asha": "{{method: asha, max_t: {max_t}, grace_period: 2, reduction_factor: 3}}",
    "hyperband": "{{method: hyperband, max_t: {max_t}}}",  # hyperband's and median's defaults
    "median": "{{method: median, max_t: {max_t}}}",
    "none": "{{method: none, max_t: {max_t}}}",
    "hyperband_before": "{{method: hyperband, max_t: {max_t}, reduction_factor: 3}}",
    "median_before": "{{method: median, max_t: {max_t}, grace_period: 3, min_samples_required: 3}}",
}
# What hyperband and median ran before their defaults changed (issue 14), run in the same sweeps
# beside them: the method's table entry with this builder in place of its own.
BEFORE_BUILDERS = {
    "hyperband_before": "benchmarks.early_stopping:all_hyperband_brackets",
    "median_before": "benchmarks.early_stopping:ray_median_rule",
}


def all_hyperband_brackets(spec: Any) -> Any:
    """hyperband before: every one of HyperBand's brackets (eta 3 in `EARLY_STOPPING`)."""
    from orchestrator.schedulers.async_hyperband import MIN_T, SeededBrackets, bracket_count
    from orchestrator.schedulers.trial_schedulers import TIME_ATTR

    es = spec.early_stopping
    return SeededBrackets(seed=spec.search.seed, time_attr=TIME_ATTR, max_t=es.max_t, grace_period=MIN_T,
                          reduction_factor=es.reduction_factor, brackets=bracket_count(es.max_t, es.reduction_factor))


def ray_median_rule(spec: Any) -> Any:
    """median before: Ray's rule, whose median counts the trials it stopped too (grace 3 in `EARLY_STOPPING`)."""
    import math

    from ray.tune.schedulers import MedianStoppingRule

    from orchestrator.schedulers.trial_schedulers import TIME_ATTR

    es = spec.early_stopping
    return MedianStoppingRule(time_attr=TIME_ATTR, grace_period=es.grace_period,
                              min_samples_required=es.min_samples_required, min_time_slice=math.inf)


@contextlib.contextmanager
def scheduler_of(variant: str) -> Iterator[None]:
    """Run `variant`'s sweep with its `BEFORE_BUILDERS` builder, where it has one."""
    from orchestrator.extensions.schedulers import SCHEDULERS

    if variant not in BEFORE_BUILDERS:
        yield
        return
    method = variant.removesuffix("_before")
    saved = SCHEDULERS[method]
    SCHEDULERS[method] = dataclasses.replace(saved, builder=BEFORE_BUILDERS[variant])
    try:
        yield
    finally:
        SCHEDULERS[method] = saved


def spec_text(method: str, seed: int, trials: int, max_t: int, max_concurrent: int = 0,
              cpu: float = 1.0) -> str:
    """The spec of one sweep."""
    return SPEC.format(method=method, seed=seed, trials=trials, max_t=max_t, max_concurrent=max_concurrent,
                       cpu=cpu, early_stopping=EARLY_STOPPING[method].format(max_t=max_t))


def _config_key(config: Mapping[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def run_one(method: str, seed: int, trials: int, max_t: int, workdir: Path, max_concurrent: int = 0,
            cpu: float = 1.0) -> dict[str, Any]:
    """One sweep: epochs, wall time, best validation accuracy, load before and after."""
    from orchestrator.spec import load_spec_text

    spec = load_spec_text(spec_text(method, seed, trials, max_t, max_concurrent, cpu), f"es-{method}.yaml")
    before = load()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0, started = time.time(), time.perf_counter()
    with scheduler_of(method):
        summary, grid = run_sweep_capturing(spec, workdir)
    wall = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    epochs = [int(r.metrics.get("training_iteration", 0)) for r in grid]
    first_result = min(float(r.metrics_dataframe["timestamp"].min()) for r in grid
                       if r.metrics_dataframe is not None)
    best_per_trial = [float(r.metrics_dataframe["val_accuracy"].max()) for r in grid
                      if r.metrics_dataframe is not None and "val_accuracy" in r.metrics_dataframe]
    return {
        "method": method, "seed": seed, "max_concurrent": max_concurrent, "wall_s": wall, "epochs": sum(epochs), "trials": len(grid),
        "first_result_s": first_result - t0,  # worker start-up (imports), 1 s resolution
        "driver_cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
        "trials_full": sum(e >= max_t for e in epochs), "best_val_accuracy": max(best_per_trial),
        "published_val_accuracy": summary.best_metric, "failed": len(summary.failures),
        "configs": sorted(_config_key(r.config) for r in grid),
        "load_before": before, "load_after": load(),
    }


def summarize(runs: Sequence[Mapping[str, Any]], max_t: int) -> list[dict[str, Any]]:
    """Medians per method and concurrency, and the ratios to `none` at the same seed and
    concurrency (then their medians)."""
    baseline = {(r["seed"], r.get("max_concurrent", 0)): r for r in runs if r["method"] == "none"}
    table = []
    for method, limit in dict.fromkeys((r["method"], r.get("max_concurrent", 0)) for r in runs):
        mine = [r for r in runs if r["method"] == method and r.get("max_concurrent", 0) == limit]
        row: dict[str, Any] = {"method": method, "max_concurrent": limit, "seeds": len(mine)}
        for key in ("epochs", "wall_s", "best_val_accuracy", "first_result_s", "driver_cpu_s"):
            row[key] = statistics.median(r[key] for r in mine)
        row["load"] = statistics.median((r["load_before"] + r["load_after"]) / 2 for r in mine)
        paired = [(r, baseline[r["seed"], limit]) for r in mine if (r["seed"], limit) in baseline]
        if paired:
            row["epoch_ratio"] = statistics.median(r["epochs"] / b["epochs"] for r, b in paired)
            row["wall_ratio"] = statistics.median(r["wall_s"] / b["wall_s"] for r, b in paired)
            row["acc_delta_points"] = statistics.median(
                100 * (r["best_val_accuracy"] - b["best_val_accuracy"]) for r, b in paired)
            row["wall_saving_per_epoch_saving"] = _saving_ratio(row["wall_ratio"], row["epoch_ratio"])
            # the same once the workers are up (from the first reported epoch to the end)
            row["after_start_ratio"] = statistics.median(
                (r["wall_s"] - r["first_result_s"]) / (b["wall_s"] - b["first_result_s"]) for r, b in paired)
            row["after_start_saving_per_epoch_saving"] = _saving_ratio(row["after_start_ratio"],
                                                                       row["epoch_ratio"])
        table.append(row)
    return table


def _saving_ratio(wall_ratio: float, epoch_ratio: float) -> float | None:
    """How much of the epoch saving shows in wall time (1.0: all of it)."""
    return (1 - wall_ratio) / (1 - epoch_ratio) if epoch_ratio < 1 else None


def targets(table: Sequence[Mapping[str, Any]]) -> dict[str, bool] | None:
    """Issue 14's targets, per method and concurrency, from the medians of paired ratios:
    at most 40% of none's epochs, best within 0.5 points of none's."""
    met = {}
    for row in table:
        if row["method"] == "none" or "epoch_ratio" not in row:
            continue
        name = f"{row['method']}@{row['max_concurrent'] or 'unlimited'}"
        met[f"{name}_epochs_at_most_40pct"] = row["epoch_ratio"] <= 0.40
        met[f"{name}_best_within_0.5_points"] = row["acc_delta_points"] >= -0.5
    return met or None


def print_table(table: Sequence[Mapping[str, Any]]) -> None:
    """The medians, one line per method."""
    print(f"{'method':<16} {'conc':>4} {'epochs':>7} {'x none':>7} {'wall s':>7} {'x none':>7} {'best acc':>8} "
          f"{'d pts':>6} {'wall/ep saving':>14} {'after start':>11} {'start s':>7} {'drv cpu':>7} "
          f"{'load':>5} {'seeds':>5}")
    for r in table:
        def fmt(key: str, spec: str, width: int) -> str:
            return format(r[key], spec) if r.get(key) is not None else "-".rjust(width)
        print(f"{r['method']:<16} {r['max_concurrent'] or 'inf':>4} {r['epochs']:>7.0f} {fmt('epoch_ratio', '>7.2f', 7)} {r['wall_s']:>7.1f} "
              f"{fmt('wall_ratio', '>7.2f', 7)} {r['best_val_accuracy']:>8.4f} "
              f"{fmt('acc_delta_points', '>6.2f', 6)} {fmt('wall_saving_per_epoch_saving', '>14.2f', 14)} "
              f"{fmt('after_start_saving_per_epoch_saving', '>11.2f', 11)} {r['first_result_s']:>7.1f} {r['driver_cpu_s']:>7.1f} {r['load']:>5.1f} {r['seeds']:>5}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="search seeds (config sets)")
    parser.add_argument("--trials", type=int, default=27)
    parser.add_argument("--max-t", type=int, default=27)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 0],
                        help="search.max_concurrent values (0: unlimited)")
    parser.add_argument("--cpu", type=float, default=0.5, help="resources.cpu per trial (2 CPUs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                        help="run nothing: summarize the runs of these result files (e.g. one per seed, "
                             "run side by side) into --out")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)

    workdir = Path(tempfile.mkdtemp(prefix="hpo-early-stopping-"))
    load_at_start = load()
    ray_startup = start_ray(CPUS)
    warm_started = time.perf_counter()  # torch and the trainable imported in the driver
    run_one("none", 0, 2, 1, workdir)
    warm_up_s = time.perf_counter() - warm_started
    runs = []
    for seed in args.seeds:
        for method, limit in ((m, c) for c in args.concurrency for m in args.methods):
            row = run_one(method, seed, args.trials, args.max_t, workdir, limit, args.cpu)
            runs.append(row)
            print(f"seed {seed} conc {limit} {method:<16} epochs {row['epochs']:4d}  wall {row['wall_s']:6.1f} s  "
                  f"best {row['best_val_accuracy']:.4f}  load {row['load_before']:.1f}->{row['load_after']:.1f}",
                  flush=True)
    same_configs = all(len({_config_key({"c": r["configs"]}) for r in runs if r["seed"] == s}) == 1
                       for s in args.seeds)
    table = summarize(runs, args.max_t)
    met = targets(table)
    print(f"\n{args.trials} trials, max_t {args.max_t}, {CPUS} CPUs, cpu {args.cpu:g} per trial, "
          f"max_concurrent {args.concurrency}, seeds {args.seeds}; medians; "
          f"same configs for every method: {same_configs}; Ray start-up {ray_startup:.1f} s (not counted)")
    print_table(table)
    print(f"targets: {met}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "early_stopping", "trials": args.trials, "max_t": args.max_t, "cpus": CPUS,
        "seeds": args.seeds, "concurrency": args.concurrency, "cpu_per_trial": args.cpu,
        "same_configs_for_every_method": same_configs, "targets_met": met,
        "ray_startup_s": ray_startup, "warm_up_s": warm_up_s, "load_at_start": load_at_start,
        "load_at_end": load(), "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "spec_template": SPEC, "early_stopping": EARLY_STOPPING,
        "summary": table, "runs": [{k: v for k, v in r.items() if k != "configs"} for r in runs],
    }, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def merge(paths: Sequence[Path], out: Path) -> int:
    """One table from result files of the same benchmark settings (seeds run by separate processes)."""
    parts = [json.loads(path.read_text()) for path in paths]
    first = parts[0]
    runs = [run for part in parts for run in part["runs"]]
    table = summarize(runs, first["max_t"])
    met = targets(table)
    print(f"{first['trials']} trials, max_t {first['max_t']}, cpu {first['cpu_per_trial']:g} per trial, "
          f"max_concurrent {first['concurrency']}, seeds {[p['seeds'] for p in parts]}; medians")
    print_table(table)
    print(f"targets: {met}")
    out.write_text(json.dumps({
        **{k: first[k] for k in ("benchmark", "trials", "max_t", "cpus", "concurrency", "cpu_per_trial",
                                 "machine", "spec_template", "early_stopping")},
        "seeds": [seed for part in parts for seed in part["seeds"]],
        "same_configs_for_every_method": all(p["same_configs_for_every_method"] for p in parts),
        "targets_met": met, "merged_from": [str(path) for path in paths],
        "parts": [{k: p[k] for k in ("seeds", "created", "ray_startup_s", "warm_up_s", "load_at_start",
                                     "load_at_end")} for p in parts],
        "summary": table, "runs": runs,
    }, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
