"""Where a whole `hpo run` spends its time: N interleaved `hpo run --verbose` of one spec, the median of each phase.

Run: `.venv/bin/python benchmarks/run_phases.py [SPEC] [--repeats 3] [--set KEY=VALUE]... [--variant LABEL=TREE]...`
(default spec: the quickstart at 4 trials). Each run is a fresh process (`hpo run SPEC --quiet --verbose --fresh`,
storage in a temporary folder) timed from outside; its phase table (start Ray, first trial started, sweep, wind-down,
shutdown, publish, before the run) is parsed from its output. `--variant LABEL=TREE[,KEY=VALUE...]` runs the hpo of
another checkout TREE (and/or with environment variables set): variants run in interleaved rounds (A B A B ...) so
that a change of machine load hits them alike. Prints a table of medians, with the load average, and writes
benchmarks/results/run_phases.json. The target: `real - sweep` (the whole run past its sweep clock) at most 10 s.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "run_phases.json"
DEFAULT_SPEC = "search_spaces/quickstart.yaml"
DEFAULT_SETS = ("search.num_samples=4",)
PHASE_ROW = re.compile(r"^  (?P<phase>[A-Za-z][A-Za-z ()-]*?)\s+(?P<seconds>[0-9.]+) s\b")
SWEEP_CLOCK = re.compile(r"\[(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d\d)\] sweep ended")
ORDER = ("before the run", "not in a phase", "Ray start (overlapped)", "start Ray", "first trial started", "sweep",
         "sweep wind-down", "shutdown", "publish", "outside the sweep", "whole run", "real", "sweep clock",
         "real - sweep", "cpu (process tree)")


def parse_variant(text: str) -> tuple[str, Path, dict[str, str]]:
    """`LABEL=TREE[,KEY=VALUE...]` -> (label, tree, environment); TREE may be empty (this checkout)."""
    label, _, rest = text.partition("=")
    tree, *pairs = rest.split(",")
    extra = dict(pair.split("=", 1) for pair in pairs if pair)
    return label, Path(tree).resolve() if tree else ROOT, extra


def one_run(spec: str, sets: list[str], tree: Path, extra_env: dict[str, str], storage: Path) -> dict:
    """One `hpo run --verbose` of the checkout at `tree`: its phases (seconds), wall clock and the load around it."""
    command = [sys.executable, "-m", "orchestrator.cli.main", "run", str((ROOT / spec).resolve()), "--quiet",
               "--verbose", "--fresh", "--storage", str(storage), *[arg for s in sets for arg in ("--set", s)]]
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "PYTHONPATH")}
    env.update(PYTHONPATH=str(tree), RAY_USAGE_STATS_ENABLED="0", **extra_env)
    load_before, cpu_before = os.getloadavg()[0], _children_cpu_s()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=tree, env=env)
    real = time.monotonic() - started
    if done.returncode != 0:   # kept as a failed run: a start that times out on a busy machine is a finding too
        return {"failed": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}", "phases": {"real": real},
                "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    tail = done.stdout.split("phase timings:", 1)[-1]
    phases = {m["phase"]: float(m["seconds"]) for m in map(PHASE_ROW.match, tail.splitlines()) if m}
    phases["real"] = real
    # CPU seconds of the run and the Ray processes it reaped: what a busy machine makes everyone wait for
    phases["cpu (process tree)"] = _children_cpu_s() - cpu_before
    clock = SWEEP_CLOCK.search(done.stdout)
    if clock:
        phases["sweep clock"] = int(clock["h"] or 0) * 3600 + int(clock["m"]) * 60 + int(clock["s"])
    phases["real - sweep"] = real - phases.get("sweep", 0.0)
    # what no phase covers: reading the spec, importing the runner and the trainable, the interpreter's exit
    phases["not in a phase"] = real - phases.get("before the run", 0.0) - phases.get("whole run", 0.0)
    return {"phases": {k: round(v, 2) for k, v in phases.items()},
            "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def medians(runs: list[dict]) -> dict[str, float]:
    """Median of each phase over the runs that finished."""
    runs = [run for run in runs if "failed" not in run] or [{"phases": {}}]
    names = dict.fromkeys(name for run in runs for name in run["phases"])
    return {name: round(statistics.median(r["phases"][name] for r in runs if name in r["phases"]), 2)
            for name in names}


def table(summary: dict[str, dict]) -> list[str]:
    """Phases down, variants across: median seconds, then the load average range."""
    labels = list(summary)
    names = [n for n in ORDER if any(n in s["median"] for s in summary.values())]
    names += [n for s in summary.values() for n in s["median"] if n not in names]
    width = max(14, *(len(label) for label in labels))
    lines = [f"{'phase (median s)':<22}" + "".join(f"{label:>{width + 2}}" for label in labels)]
    for name in dict.fromkeys(names):
        cells = [summary[label]["median"].get(name) for label in labels]
        lines.append(f"{name:<22}" + "".join(f"{'-' if c is None else f'{c:.2f}':>{width + 2}}" for c in cells))
    loads = [f"{min(s['loads']):.1f}-{max(s['loads']):.1f}" for s in summary.values()]
    lines.append(f"{'load average (1 min)':<22}" + "".join(f"{load:>{width + 2}}" for load in loads))
    lines.append(f"{'failed runs':<22}" + "".join(f"{s['failed']:>{width + 2}}" for s in summary.values()))
    return lines


def write_results(args: argparse.Namespace, sets: list[str], variants: list[tuple[str, Path, dict[str, str]]],
                  runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Write every run so far and the medians to `args.out` (after each round: a long run keeps what it measured)."""
    summary = {label: {"median": medians(rs), "loads": [x for r in rs for x in r["load"]] or [0.0],
                       "failed": sum("failed" in r for r in rs)} for label, rs in runs.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "spec": args.spec, "sets": sets, "repeats": args.repeats, "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "variants": {label: {"tree": str(tree), "env": extra, "runs": runs[label], **summary[label]}
                     for label, tree, extra in variants}}, indent=1) + "\n", encoding="utf-8")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=DEFAULT_SPEC, help=f"the spec (default {DEFAULT_SPEC})")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant (default 3)")
    parser.add_argument("--set", dest="sets", action="append", default=None, metavar="KEY=VALUE",
                        help=f"spec overrides (default: {' '.join(DEFAULT_SETS)})")
    parser.add_argument("--variant", action="append", default=None, metavar="LABEL=TREE[,KEY=VALUE...]",
                        help="a checkout and/or environment to compare (repeatable; default: this checkout)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sets = list(DEFAULT_SETS) if args.sets is None else args.sets
    variants = [parse_variant(v) for v in (args.variant or ["this checkout="])]
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in variants}
    with tempfile.TemporaryDirectory(prefix="hpo-run-phases-") as tmp:
        for repeat in range(args.repeats):
            for label, tree, extra in variants:
                run = one_run(args.spec, sets, tree, extra, Path(tmp) / label.replace(" ", "_"))
                runs[label].append(run)
                print(f"round {repeat + 1} {label}: real {run['phases']['real']:.1f} s, sweep "
                      f"{run['phases'].get('sweep', 0):.1f} s, load {run['load'][0]} {run.get('failed', '')}",
                      flush=True)
            write_results(args, sets, variants, runs)
    summary = write_results(args, sets, variants, runs)
    print("\n".join(table(summary)))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
