"""`hpo best`, `hpo fetch`, `hpo train --from-best`: hand a sweep's published best on to downstream training."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from orchestrator.storage import best_manifest, fetch_best
from orchestrator.storage.sweep_folder import FINAL_MANIFEST


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the artifact commands to the `hpo` parser."""
    best = subparsers.add_parser("best", help="print the best config of a sweep, ready for downstream training",
                                 description="Print the best trial's config from <sweep>/best/best.json.")
    _sweep_args(best)
    best.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default yaml)")
    best.add_argument("--manifest", action="store_true", help="print the whole manifest, not only the config")
    best.set_defaults(func=cmd_best)

    fetch = subparsers.add_parser("fetch", help="download the best checkpoint, checksums verified",
                                  description="Download <sweep>/best's checkpoint; every file's sha256 is verified.")
    _sweep_args(fetch)
    fetch.add_argument("--to", required=True, metavar="DIR", help="local folder to write the checkpoint into")
    fetch.add_argument("--force", action="store_true",
                       help="replace DIR's contents even if it is not an earlier fetch of this sweep")
    fetch.set_defaults(func=cmd_fetch)

    train = subparsers.add_parser(
        "train", help="retrain the best config on train+validation and evaluate on the test split",
        description="Refit the best config on train+validation, evaluate it on the held-out test split, and write "
                    "the final model and final.json (config, test metrics, checksums) to --out.")
    train.add_argument("--from-best", required=True, metavar="SWEEP_URI", dest="sweep_uri",
                       help="sweep whose best config to retrain: <storage>/<name>")
    train.add_argument("--out", metavar="URI", help="where the final model goes, local or s3:// "
                                                     "(default <sweep>/final)")
    _storage_args(train)
    train.set_defaults(func=cmd_train)


def _sweep_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep_uri", metavar="SWEEP_URI", help="the sweep folder: <storage>/<name>")
    _storage_args(parser)


def _storage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="S3-compatible endpoint (default: AWS_ENDPOINT_URL or AWS)")
    parser.add_argument("--region", help="S3 region (default: the AWS chain)")


def _storage_options(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in (("endpoint_url", args.endpoint_url), ("region", args.region)) if v}


def cmd_best(args: argparse.Namespace) -> int:
    manifest = best_manifest(args.sweep_uri, _storage_options(args))
    shown = manifest.to_json() if args.manifest else manifest.config
    if args.format == "json":
        print(json.dumps(shown, indent=2, sort_keys=not args.manifest))
        return 0
    print(f"# best of {args.sweep_uri}: {manifest.metric}={manifest.metric_value} "
          f"({manifest.mode}), trial {manifest.trial_id}, iteration {manifest.iteration}")
    print(yaml.safe_dump(shown, sort_keys=False, default_flow_style=False), end="")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    options = _storage_options(args)
    manifest = best_manifest(args.sweep_uri, options)
    folder = fetch_best(args.sweep_uri, args.to, options, force=args.force)
    total = sum(int(entry.get("size", 0)) for entry in manifest.files.values())
    print(f"fetched {len(manifest.files)} file(s), {total / 1e6:.1f} MB, sha256 verified, to {folder}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from orchestrator.api import retrain_best

    result = retrain_best(args.sweep_uri, out=args.out, storage_options=_storage_options(args),
                          on_note=lambda note: print(f"hpo: {note}", file=sys.stderr))
    print(yaml.safe_dump({"test_metrics": result.test_metrics}, sort_keys=False), end="")
    print(f"final model and {FINAL_MANIFEST} written to {result.location.display}")
    return 0
