"""`hpo ensemble`."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    ensemble = subparsers.add_parser(
        "ensemble", help="ensemble a sweep's top trials and publish it to <sweep>/ensemble/",
        description="Load the best checkpoints of a finished sweep's top trials (the best, and the next best that ran "
                    "their full budget), combine their predictions (classifiers: mean probability or votes; "
                    "regressors: mean; greedy: weights from greedy ensemble selection on the validation rows), "
                    "print the single best's and the ensemble's score on the held-out test split, and publish "
                    "<sweep>/ensemble/ with its manifest.")
    ensemble.add_argument("sweep", metavar="SWEEP_URI", help="<storage>/<name>, local or s3://")
    ensemble.add_argument("--top", type=int, default=5, help="how many of the best trials (default 5)")
    ensemble.add_argument("--method", choices=("mean", "vote", "greedy"), default="mean",
                          help="classifiers: average probabilities (mean) or count votes (vote); greedy: weighted "
                               "mean, members and weights chosen on the validation rows (Caruana et al. 2004)")
    ensemble.set_defaults(func=cmd_ensemble)


def cmd_ensemble(args: argparse.Namespace) -> int:
    from orchestrator.reuse import build_ensemble

    result = build_ensemble(args.sweep, top=args.top, method=args.method)
    print(f"candidates: {len(result.candidates)}, the best trial and the next best not stopped early "
          f"({', '.join(result.candidates)})")
    print(f"members: {len(result.members)} ({', '.join(result.members)}), weights "
          + ", ".join(f"{weight:.2f}" for weight in result.weights))
    print(f"test {result.score_name}: single best {result.single_best:.4f}, "
          f"ensemble of {len(result.members)} ({args.method}) {result.ensemble:.4f} "
          f"({result.ensemble - result.single_best:+.4f})")
    print(f"published: {result.published_uri}")
    print(f"load it: orchestrator.load_ensemble({result.published_uri!r})")
    return 0
