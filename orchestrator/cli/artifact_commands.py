"""`hpo best`, `hpo fetch`, `hpo train --from-best`: hand a sweep's published best on to downstream training."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from typing import Any

import pyarrow.fs as pafs
import yaml

from orchestrator.errors import UserInputError
from orchestrator.redaction import redacted_paths
from orchestrator.storage import FinalManifest, best_manifest, fetch_best, preflight, publish_tree, resolve_storage
from orchestrator.storage.sweep_folder import FINAL_MANIFEST, final_folder


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
    folder = fetch_best(args.sweep_uri, args.to, options)
    total = sum(int(entry.get("size", 0)) for entry in manifest.files.values())
    print(f"fetched {len(manifest.files)} file(s), {total / 1e6:.1f} MB, sha256 verified, to {folder}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from trainables.registry import resolve_final_fit

    options = _storage_options(args)
    manifest = best_manifest(args.sweep_uri, options)
    trainable = manifest.spec.get("trainable")
    if not trainable:
        raise UserInputError(f"{args.sweep_uri}: best.json has no spec.trainable; cannot retrain")
    final_fit = resolve_final_fit(str(trainable))
    if final_fit is None:
        raise UserInputError(f"trainable {trainable!r} has no final fit (give it a `final_fit` attribute)")
    config = manifest.config
    iteration = manifest.iteration
    if isinstance(iteration, int) and isinstance(config.get("max_epochs"), int) and iteration < config["max_epochs"]:
        # the best checkpoint is the best-validation epoch: retrain for that many epochs
        print(f"hpo: retraining for {iteration} epochs, where the best checkpoint was (max_epochs was "
              f"{config['max_epochs']})", file=sys.stderr)
        config = {**config, "max_epochs": iteration}
    for path in redacted_paths(config):
        print(f"hpo: warning: config key {path} was redacted in best.json; the trainable gets the placeholder",
              file=sys.stderr)
    out = resolve_storage(args.out or final_folder(resolve_storage(args.sweep_uri, options, create=False)).uri,
                          options)
    preflight(out)
    with tempfile.TemporaryDirectory(prefix="hpo-final-") as work:
        metrics = final_fit(config, work)
        record = FinalManifest(config=config, test_metrics=metrics, trainable=trainable, spec=manifest.spec,
                               from_best=args.sweep_uri, best_version=manifest.version,
                               best_metric={manifest.metric: manifest.metric_value})
        publish_tree(out, (pafs.LocalFileSystem(), work), record)
    written = json.loads(json.dumps(metrics, default=float))
    print(yaml.safe_dump({"test_metrics": written}, sort_keys=False), end="")
    print(f"final model and {FINAL_MANIFEST} written to {out.display}")
    return 0
