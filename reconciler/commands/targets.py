"""``reconciler targets``: list the policy's targets (``--github-matrix``: JSON for a workflow matrix)."""

from __future__ import annotations

import argparse
import json
import sys

from reconciler.options import load


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "targets", help="list the policy's targets",
        description="List the targets (account and region) of the policy, or print them as a GitHub Actions matrix.")
    parser.add_argument("--config", default="config", metavar="DIR", help="the policy directory (default: config)")
    parser.add_argument("--github-matrix", action="store_true",
                        help='print {"include": [{"target", "account_id", "region"}, ...]} for strategy.matrix')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    policy = load(args.config)
    targets = [policy.targets[name] for name in sorted(policy.targets)]
    if args.github_matrix:
        include = [{"target": t.name, "account_id": t.account_id, "region": t.region} for t in targets]
        sys.stdout.write(json.dumps({"include": include}, sort_keys=True) + "\n")
        return 0
    for t in targets:
        role = f" via {t.role_arn}" if t.role_arn else ""
        sys.stdout.write(f"{t.name}\t{t.account_id}\t{t.region}{role}\n")
    return 0
