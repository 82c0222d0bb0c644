"""`hpo dashboard STORAGE`: a live, read-only web page over the sweeps of a storage root."""
from __future__ import annotations

import argparse

from orchestrator.cli.artifact_commands import _storage_args, _storage_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `hpo dashboard` to the `hpo` parser."""
    from orchestrator.dashboard import DEFAULT_HOST, DEFAULT_PORT

    dashboard = subparsers.add_parser(
        "dashboard", help="serve a live web page over every sweep in a storage location",
        description="Serve a read-only web page (and a JSON API at /api/sweeps) over the sweeps under STORAGE, "
                    "updated while they run. It only reads the sweep folders: start and stop it at any time.")
    dashboard.add_argument("storage", metavar="STORAGE", help="storage root: s3://bucket/prefix, file:// or a folder")
    dashboard.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    dashboard.add_argument("--host", default=DEFAULT_HOST,
                           help=f"address to bind (default {DEFAULT_HOST}: this machine only)")
    _storage_args(dashboard)
    dashboard.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from orchestrator.dashboard.server import build_app, serve_app

    app = build_app(args.storage, _storage_options(args))
    print(f"hpo dashboard: http://{args.host}:{args.port}/ over {args.storage} (Ctrl-C stops it)", flush=True)
    serve_app(app, host=args.host, port=args.port)
    return 0
