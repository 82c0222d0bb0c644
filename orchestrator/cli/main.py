"""Entry point of the `hpo` command: builds the parser from the command-group modules."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from orchestrator.errors import HpoError

# Each module defines `register(subparsers)`, adding its commands with `set_defaults(func=...)`.
COMMAND_MODULES: tuple[str, ...] = (
    "orchestrator.cli.sweep_commands",     # validate, run
    "orchestrator.cli.artifact_commands",  # best, fetch, train
    "orchestrator.cli.job_commands",       # submit, status, logs, stop
    "orchestrator.cli.report_commands",    # report, ls
    "orchestrator.cli.dashboard_commands", # dashboard
    "orchestrator.cli.schema_commands",    # schema
    "orchestrator.cli.reuse_commands",     # ensemble
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo",
        description="Distributed hyperparameter search on Ray Tune from one YAML spec.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command group not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except HpoError as exc:
        print(f"hpo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("hpo: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:   # noqa: BLE001 - see below
        from orchestrator.runner.job_driver import in_ray_job

        if not in_ray_job():   # a Ray job's driver ends with one line; elsewhere a bug shows its traceback
            raise
        saved = _save_traceback()
        print(f"hpo: error: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''} "
              f"(traceback in {saved})", file=sys.stderr)
        return 1
    return int(code or 0)


def _save_traceback() -> str:
    """The current exception's traceback, written to a file (named in the job's one-line error)."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="hpo-traceback-", suffix=".txt", delete=False) as f:
        traceback.print_exc(file=f)
    return f.name


if __name__ == "__main__":
    sys.exit(main())
