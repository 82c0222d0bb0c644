"""Per-trial overhead: 40 trials that each burn 1 s of CPU on 2 CPUs, through hpo and its rivals.

Run: `.venv/bin/python benchmarks/overhead.py [--trials 40] [--repeats 3] [--variants ...]`.
Prints a table of medians and writes benchmarks/results/overhead.json.

Variants, run in interleaved rounds (A B C ... A B C ...) so that a change of machine load hits
them alike; every run records the 1-minute load average before and after it:
  ideal          trials x burn / CPUs (20 s), a constant
  ideal_measured 2 plain processes burning the same 40 x 1 s: the ideal under the load of the
                 moment (the other figures are also given as ratios to it)
  optuna         Optuna, 2 worker processes sharing one JournalStorage file
  ray_bare       `tune.Tuner` with Ray's defaults (a new actor per trial)
  ray_reuse      the same with `reuse_actors=True`
  hpo            `run_sweep` of a spec (random search, 40 samples, resources cpu 1)
  hpo_tuned      `run_sweep` with the runner change this benchmark recommends (TUNED_ENV and
                 `tuned_tuner_parts`: no TensorBoard logger), applied from outside the runner
ray_reuse is not in the default set (`--variants ... ray_reuse` adds it).

Ray starts once (its start-up is reported apart) and process start-up of the Optuna and plain
workers is excluded the same way: workers start, import, and wait on a barrier before the clock
starts. A warm-up sweep of each Ray variant pays the one-off imports before the timed rounds.
The trainable stamps each trial's start and end, so every Ray run is also split into: the work
itself, the gap between one trial's end and the next trial's start on the same worker (actor
start or reuse, result processing, bookkeeping), the delay to the first trial and the tail
after the last one.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_trainables import (  # noqa: E402
    BURN_S, ROOT, burn, busy, env, load, optuna_objective, patched, run_sweep_capturing, start_ray,
)

RESULTS = ROOT / "benchmarks" / "results" / "overhead.json"
CPUS = 2
VARIANTS = ("ideal_measured", "optuna", "ray_bare", "ray_reuse", "hpo", "hpo_tuned")
DEFAULT_VARIANTS = ("ideal_measured", "optuna", "ray_bare", "hpo", "hpo_tuned")
SPEC = """
name: overhead
trainable: benchmarks.bench_trainables:burn
metric: score
mode: max
config: {{burn_s: {burn_s}}}
space:
  x: {{uniform: [0.0, 1.0]}}
search: {{method: random, num_samples: {trials}, seed: 0}}
resources: {{cpu: 1}}
"""
# Environment the recommended runner sets before building its Tuner (see README).
# Ray's default result loggers include TensorBoard's, which costs a writer thread, an event file
# and a flush per trial: the recommended runner turns the defaults off and passes JSON and CSV
# (what `hpo report` and Ray's ResultGrid read) itself, see `tuned_tuner_parts`.
TUNED_ENV = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}


# --- processes outside Ray: the measured ideal and Optuna -------------------------------------

def _plain_worker(barrier: Any, n: int, burn_s: float) -> None:
    barrier.wait()
    for _ in range(n):
        busy(burn_s)


def _optuna_worker(barrier: Any, n: int, burn_s: float, journal: str, name: str) -> None:
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(journal)))
    barrier.wait()
    study.optimize(functools.partial(optuna_objective, burn_s=burn_s), n_trials=n)


def _in_processes(target: Callable[..., None], args: tuple, trials: int) -> dict[str, Any]:
    """Start CPUS spawned workers that split `trials`; time them from the barrier to the last exit."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(CPUS + 1)
    shares = [trials // CPUS + (i < trials % CPUS) for i in range(CPUS)]
    started = time.perf_counter()
    procs = [ctx.Process(target=target, args=(barrier, share, *args)) for share in shares]
    for p in procs:
        p.start()
    barrier.wait()
    ready = time.perf_counter()
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        raise RuntimeError(f"{target.__name__}: a worker failed")
    return {"wall_s": time.perf_counter() - ready, "startup_s": ready - started}


def run_ideal_measured(trials: int, burn_s: float, **_: Any) -> dict[str, Any]:
    """The same busy loops in CPUS plain processes, nothing else."""
    return _in_processes(_plain_worker, (burn_s,), trials)


def run_optuna(trials: int, burn_s: float, workdir: Path, **_: Any) -> dict[str, Any]:
    """Optuna (random sampler, like the others) with CPUS processes on one journal file."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    journal = str(workdir / f"optuna-{time.monotonic_ns()}.log")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="overhead", storage=JournalStorage(JournalFileBackend(journal)),
                        sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    row = _in_processes(_optuna_worker, (burn_s, journal, "overhead"), trials)
    study = optuna.load_study(study_name="overhead", storage=JournalStorage(JournalFileBackend(journal)))
    row["trials_done"] = len(study.trials)
    return row


# --- Ray variants --------------------------------------------------------------------------

def timeline(results: Sequence[Mapping[str, Any]], t0: float, t1: float) -> dict[str, Any]:
    """Split a run by the trials' own stamps: work, gaps between trials on one worker, the delay
    before the first trial and the tail after the last."""
    by_worker: dict[int, list[tuple[float, float]]] = {}
    for r in results:
        by_worker.setdefault(int(r["pid"]), []).append((r["t_start"], r["t_end"]))
    gaps = []
    for spans in by_worker.values():
        spans.sort()
        gaps += [nxt[0] - prev[1] for prev, nxt in zip(spans, spans[1:])]
    starts = [r["t_start"] for r in results]
    ends = [r["t_end"] for r in results]
    return {
        "workers": len(by_worker),
        "trial_s_mean": statistics.fmean(e - s for s, e in zip(starts, ends)),
        "gap_s_mean": statistics.fmean(gaps) if gaps else None,
        "gap_s_total": sum(gaps),
        "first_start_s": min(starts) - t0,
        "first_process_s": min(r.get("t_process", t0) for r in results) - t0,
        "tail_s": t1 - max(ends),
    }


def _ray_row(fit: Callable[[], list[Mapping[str, Any]]], trials: int) -> dict[str, Any]:
    """Time `fit` (returns the trials' last results) with the driver's CPU time and a timeline."""
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.time()
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # Ray's banners
        results = fit()
    wall = time.perf_counter() - started
    t1 = time.time()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    done = [r for r in results if r and "t_start" in r]
    if len(done) != trials:
        raise RuntimeError(f"{len(done)} of {trials} trials reported")
    return {"wall_s": wall, "driver_cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
            **timeline(done, t0, t1)}


def run_ray(trials: int, burn_s: float, workdir: Path, reuse: bool = False, **_: Any) -> dict[str, Any]:
    """Bare `tune.Tuner` with Ray's defaults (only the storage folder is chosen)."""
    from ray import tune

    def fit() -> list[Mapping[str, Any]]:
        tuner = tune.Tuner(burn, param_space={"x": tune.uniform(0.0, 1.0), "burn_s": burn_s},
                           tune_config=tune.TuneConfig(num_samples=trials, metric="score", mode="max",
                                                       reuse_actors=reuse),
                           run_config=tune.RunConfig(storage_path=str(workdir), verbose=0))
        return [r.metrics for r in tuner.fit()]

    return _ray_row(fit, trials)


def tuned_tuner_parts(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """The runner's `_tuner_parts` with the recommended change: the result loggers passed
    explicitly (JSON and CSV; TensorBoard's is dropped, see README)."""
    def parts(*args: Any, **kwargs: Any) -> dict[str, Any]:
        from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

        built = original(*args, **kwargs)
        built["run_config"].callbacks = [*built["run_config"].callbacks, JsonLoggerCallback(),
                                         CSVLoggerCallback()]
        return built
    return parts


def run_hpo(trials: int, burn_s: float, workdir: Path, tuned: Mapping[str, str] | None = None,
            **_: Any) -> dict[str, Any]:
    """`run_sweep` of the overhead spec; `tuned` (environment) also applies `tuned_tuner_parts`."""
    from orchestrator.runner import tuner as tuner_module
    from orchestrator.spec import load_spec_text

    spec = load_spec_text(SPEC.format(trials=trials, burn_s=burn_s), "overhead.yaml")

    def fit() -> list[Mapping[str, Any]]:
        return [r.metrics for r in run_sweep_capturing(spec, workdir)[1]]

    if not tuned:
        return _ray_row(fit, trials)
    with env(tuned), patched(tuner_module, "_tuner_parts", tuned_tuner_parts(tuner_module._tuner_parts)):
        return _ray_row(fit, trials)


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "ideal_measured": run_ideal_measured,
    "optuna": run_optuna,
    "ray_bare": run_ray,
    "ray_reuse": lambda **kw: run_ray(reuse=True, **kw),
    "hpo": run_hpo,
    "hpo_tuned": lambda **kw: run_hpo(tuned=TUNED_ENV, **kw),
}
RAY_VARIANTS = ("ray_bare", "ray_reuse", "hpo", "hpo_tuned")


# --- the run -------------------------------------------------------------------------------

def measure(variant: str, trials: int, burn_s: float, workdir: Path) -> dict[str, Any]:
    """One run of `variant`, with the load before and after it."""
    folder = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=workdir))
    before = load()
    row = RUNNERS[variant](trials=trials, burn_s=burn_s, workdir=folder)
    return {"variant": variant, **row, "load_before": before, "load_after": load()}


def summarize(runs: Sequence[Mapping[str, Any]], ideal_s: float) -> list[dict[str, Any]]:
    """Medians per variant, with ratios to the nominal and to the measured ideal."""
    rounds: dict[int, float] = {r["round"]: r["wall_s"] for r in runs if r["variant"] == "ideal_measured"}
    table = [{"variant": "ideal", "wall_s": ideal_s, "x_ideal": 1.0, "x_measured_ideal": None, "runs": 0}]
    for variant in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == variant]
        row: dict[str, Any] = {"variant": variant, "runs": len(mine)}
        for key in ("wall_s", "gap_s_mean", "first_process_s", "first_start_s", "tail_s", "driver_cpu_s",
                    "startup_s"):
            values = [r[key] for r in mine if r.get(key) is not None]
            row[key] = statistics.median(values) if values else None
        row["x_ideal"] = row["wall_s"] / ideal_s
        paired = [r["wall_s"] / rounds[r["round"]] for r in mine if r["round"] in rounds]
        row["x_measured_ideal"] = statistics.median(paired) if paired else None
        row["load"] = statistics.median((r["load_before"] + r["load_after"]) / 2 for r in mine)
        table.append(row)
    return table


COLUMNS = (("variant", "variant", "<15"), ("wall s", "wall_s", ">8.1f"), ("x ideal", "x_ideal", ">8.2f"),
           ("x meas.", "x_measured_ideal", ">8.2f"), ("gap s", "gap_s_mean", ">7.3f"),
           ("first s", "first_start_s", ">8.2f"), ("tail s", "tail_s", ">7.2f"),
           ("drv cpu", "driver_cpu_s", ">8.2f"), ("load", "load", ">6.1f"), ("runs", "runs", ">5"))


def print_table(table: Sequence[Mapping[str, Any]]) -> None:
    """The medians, one line per variant ("-": does not apply)."""
    def width(fmt: str) -> int:
        return int("".join(ch for ch in fmt.split(".")[0] if ch.isdigit()))

    print(" ".join(format(head, fmt[0] + str(width(fmt))) for head, _, fmt in COLUMNS))
    for row in table:
        print(" ".join(format(row[key], fmt) if row.get(key) is not None else format("-", f">{width(fmt)}")
                       for _, key, fmt in COLUMNS))


def warm_up(variants: Sequence[str], workdir: Path) -> dict[str, float]:
    """A small sweep per Ray variant, so that one-off imports stay out of the timed rounds."""
    spent = {}
    for variant in variants:
        if variant in RAY_VARIANTS:
            started = time.perf_counter()
            RUNNERS[variant](trials=4, burn_s=0.05, workdir=Path(tempfile.mkdtemp(dir=workdir)))
            spent[variant] = round(time.perf_counter() - started, 2)
    return spent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--burn-s", type=float, default=BURN_S)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of every variant")
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), choices=VARIANTS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="hpo-overhead-"))
    load_at_start = load()
    ray_startup = start_ray(CPUS) if any(v in RAY_VARIANTS for v in args.variants) else None
    warm = warm_up(args.variants, workdir)
    runs = []
    for rnd in range(args.repeats):
        for variant in args.variants:
            row = {"round": rnd, **measure(variant, args.trials, args.burn_s, workdir)}
            runs.append(row)
            print(f"round {rnd} {variant:<15} {row['wall_s']:7.1f} s  load {row['load_before']:.1f}"
                  f"->{row['load_after']:.1f}", flush=True)
    ideal = args.trials * args.burn_s / CPUS
    table = summarize(runs, ideal)
    print(f"\n{args.trials} trials x {args.burn_s:g} s CPU on {CPUS} CPUs; medians of {args.repeats} "
          f"interleaved rounds; Ray start-up {ray_startup and round(ray_startup, 1)} s (not counted)")
    print_table(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "overhead", "trials": args.trials, "burn_s": args.burn_s, "cpus": CPUS,
        "ideal_s": ideal, "repeats": args.repeats, "ray_startup_s": ray_startup, "warm_up_s": warm,
        "tuned_env": TUNED_ENV, "load_at_start": load_at_start, "load_at_end": load(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "summary": table, "runs": runs,
    }, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
