"""`hpo report` and `hpo ls`: look at sweeps, finished or still running, local or on S3."""
from __future__ import annotations

import argparse

from orchestrator.cli.artifact_commands import _storage_args, _storage_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the report commands to the `hpo` parser."""
    report = subparsers.add_parser(
        "report", help="write an HTML report with plots of a sweep (finished or running)",
        description="Write report.html (self-contained) and PNGs into --out: learning curves of all trials, "
                    "best so far, metric against each hyperparameter, parallel coordinates, algorithms "
                    "compared, early stopping, and a leaderboard of the top configs.")
    report.add_argument("sweep_uri", metavar="SWEEP_URI", help="the sweep folder: <storage>/<name>")
    report.add_argument("--out", required=True, metavar="DIR", help="local folder for report.html and the PNGs")
    _storage_args(report)
    report.set_defaults(func=cmd_report)

    ls = subparsers.add_parser("ls", help="list the sweeps in a storage location",
                               description="List the sweeps under STORAGE with their status (finished, "
                                           "running, interrupted, failed), trial counts, best metric and date.")
    ls.add_argument("storage", metavar="STORAGE", help="storage root: s3://bucket/prefix, file:// or a folder")
    _storage_args(ls)
    ls.set_defaults(func=cmd_ls)


def cmd_report(args: argparse.Namespace) -> int:
    from orchestrator.report import write_report

    report = write_report(args.sweep_uri, args.out, _storage_options(args))
    data = report.data
    counts = ", ".join(f"{n} {c}" for n, c in data.counts().items() if c)
    print(f"sweep {data.name} ({data.status}): {len(data.trials)} trials" + (f" ({counts})" if counts else ""))
    print(f"report: {report.html_path} ({len(report.plots)} pictures)")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from orchestrator.report import format_table, list_sweeps

    summaries = list_sweeps(args.storage, _storage_options(args))
    if not summaries:
        print(f"no sweeps under {args.storage}")
        return 0
    print("\n".join(format_table(summaries)))
    return 0
