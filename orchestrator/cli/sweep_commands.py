"""`hpo validate` and `hpo run`."""
from __future__ import annotations

import argparse
import os
import sys

import yaml

from orchestrator.extensions.schedulers import SCHEDULERS
from orchestrator.redaction import redact, redact_text
from orchestrator.extensions.searchers import SEARCHERS
from orchestrator.spec import EarlyStopping, Spec, load_spec
from orchestrator.spec.overrides import overrides_from_env


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser("validate", help="check a spec and print a summary",
                                     description="Check a spec without running anything; print its "
                                                 "parameters, grid size, searcher and scheduler.")
    validate.add_argument("spec", help="the sweep's YAML file")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                          help="override a spec key, e.g. search.num_samples=8 (repeatable)")
    validate.add_argument("--resume", action="store_true",
                          help="also say how many trials resuming the stored sweep would add")
    validate.add_argument("--storage", help="storage root of the stored sweep, overriding the spec")
    validate.set_defaults(func=cmd_validate)

    run = subparsers.add_parser("run", help="run a sweep (embedded local Ray by default)",
                                description="Run the sweep a spec describes on Ray Tune, then publish the "
                                            "best checkpoint and best.json to <storage>/<name>/best/.")
    run.add_argument("spec", help="the sweep's YAML file")
    run.add_argument("--address", help="Ray cluster: auto, ray://HOST:10001 or HOST:6379 (default: local Ray)")
    run.add_argument("--storage", help="storage root, overriding the spec (s3://bucket/prefix, a folder)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a spec key, e.g. search.num_samples=8 (repeatable)")
    run.add_argument("--resume", action="store_true", help="continue the sweep stored at <storage>/<name>")
    run.add_argument("--fresh", action="store_true", help="replace an existing sweep of the same name")
    run.add_argument("--quiet", action="store_true", help="one line per finished trial, no live view")
    run.add_argument("--dashboard", nargs="?", type=int, const=8266, default=None, metavar="PORT",
                     help="serve the live sweep page (hpo dashboard) on 127.0.0.1:PORT while it runs (default 8266)")
    run.add_argument("--ray-dashboard", action="store_true",
                     help="let the embedded local Ray serve Ray's dashboard (off by default: it slows Ray's start)")
    run.add_argument("--verbose", action="store_true",
                     help="end with the time of each phase (start Ray, first trial, sweep, shutdown, publish)")
    run.set_defaults(func=cmd_run)


def _serve_dashboard(storage: str, storage_options: dict, name: str, port: int) -> None:
    """Serve the live page over the sweep's storage from a thread of this driver, and say where."""
    from orchestrator.dashboard.server import start_in_thread

    url = start_in_thread(storage, storage_options, port=port, must_exist=False)
    print(f"hpo: live sweep page: {url}sweeps/{name}", flush=True)


def summary(spec: Spec) -> list[str]:
    """The lines `hpo validate` prints."""
    from orchestrator.space import count_sampled, describe, grid_size

    s = spec.search
    grid = grid_size(spec.space)
    trials = grid * s.num_samples if s.method == "grid" else s.num_samples
    searcher = SEARCHERS[s.method].label
    if s.options:
        searcher += " " + ", ".join(f"{k}={v}" for k, v in s.options.items())
    lines = [
        f"spec {spec.source_file or spec.name}: OK",
        f"sweep: {spec.name} -> {redact_text(spec.storage.rstrip('/'))}/{spec.name}",
        f"trainable: {spec.trainable}   metric: {spec.metric} ({spec.mode})",
        f"parameters ({count_sampled(spec.space)} sampled, grid size {grid}):",
        *("  " + line for line in describe(spec.space)),
    ]
    if spec.config:
        lines.append("constants: " + ", ".join(f"{k}={v!r}" for k, v in redact(spec.config).items()))
    lines += [
        f"searcher: {searcher}; trials: {trials}"
        + (f", at most {s.max_concurrent} at once" if s.max_concurrent else "")
        + (f", seed {s.seed}" if s.seed is not None else ""),
        f"scheduler: {_scheduler_summary(spec.early_stopping)}",
        *_scheduler_note(spec),
        f"resources per trial: cpu {spec.resources.cpu:g}, gpu {spec.resources.gpu:g}",
    ]
    return lines


def _scheduler_summary(es: EarlyStopping) -> str:
    """`asha (max_t=30, grace_period=3, ...)`; without early stopping, just the iteration cap."""
    label = SCHEDULERS[es.method].label
    if es.method == "none":
        return label + (f", at most {es.max_t} iterations per trial" if es.max_t else "")
    shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in es.parameters.items() if v is not None)
    return f"{label} ({shown})"


def _scheduler_note(spec: Spec) -> list[str]:
    """The scheduler's own line on which variant runs and why (hyperband, median), if any."""
    note = SCHEDULERS[spec.early_stopping.method].explain(spec)
    return [f"  {note}"] if note else []


def cmd_validate(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec, args.overrides)
    from orchestrator.runner.sweep import param_space_of
    from orchestrator.searchers import build_search_algorithm

    build_search_algorithm(spec, param_space_of(spec))  # compiles the space, or says why not
    print("\n".join(summary(spec)))
    from orchestrator.runner.warm_start import load_warm_start

    warm = load_warm_start(spec)  # reads the earlier sweeps, if any: what they give, what grid search skips
    if warm is not None:
        print(warm.line(spec))
    if args.resume:
        from orchestrator.runner.extension import extension_line

        if warm is None:
            print(extension_line(spec, args.storage))
        else:
            print(extension_line(spec, args.storage, skipped=warm.grid_skips))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from orchestrator.api import run_sweep
    from orchestrator.runner.phase_timer import process_age_s

    before_run = process_age_s()
    spec = load_spec(args.spec, [*args.overrides, *overrides_from_env()])   # secret ones shipped by `hpo submit`
    from orchestrator.runner.ray_start import RAY_DASHBOARD_ENV, start_in_background

    if args.ray_dashboard:
        os.environ[RAY_DASHBOARD_ENV] = "1"
    start_in_background(args.address)   # Ray starts while this driver imports Ray Tune and the trainable
    print(f"hpo: sweep {spec.name}: {spec.search.method} search, "
          f"early stopping {spec.early_stopping.method}", flush=True)
    if args.dashboard is not None:
        _serve_dashboard(args.storage or spec.storage, spec.storage_options, spec.name, args.dashboard)
    result = run_sweep(spec, address=args.address, storage=args.storage, resume=args.resume,
                       fresh=args.fresh, quiet=True if args.quiet else None)
    out = sys.stdout
    out.write(f"\ntrials: {result.num_trials}, failed: {len(result.failures)}\n")
    for trial_id, error in list(result.failures.items())[:10]:
        out.write(f"  failed {trial_id}: {error}\n")
    out.write(f"best {result.metric} ({result.mode}): {result.best_metric:.6g} "
              f"(trial {result.best_trial_id}, iteration {result.best_iteration})\n")
    out.write("best config:\n")
    out.write("".join("  " + line + "\n" for line in
                      yaml.safe_dump(result.best_config, sort_keys=False).splitlines()))
    out.write(f"published: {result.published_uri}\n")
    out.write(f"reuse it: hpo best {result.sweep_uri}\n")
    out.write(f"full log: {result.log_file}\n")
    if args.verbose:
        out.write("phase timings:\n" + "".join(line + "\n" for line in result.phase_timings))
        if before_run is not None:
            out.write(f"  {'before the run':<22} {before_run:7.2f} s   (interpreter start and imports)\n")
    return 0
