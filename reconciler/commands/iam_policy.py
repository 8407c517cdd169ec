"""``reconciler iam-policy --mode plan|apply``: the least-privilege IAM policy each mode needs.

Generated from the operations the policy areas declare (the same declarations the engine calls
through), so the policy can never lag behind the code. With ``--config`` the statements are
limited to the targets' regions and ``sts:AssumeRole`` to their role ARNs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reconciler.cli import UserError
from reconciler.iam import policy_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy for plan (read-only) or apply",
        description="Print the IAM policy JSON a role needs to run plan and drift (--mode plan) or apply (--mode apply).",
    )
    parser.add_argument("--mode", choices=("plan", "apply"), required=True,
                        help="plan: read-only (plan, drift, import); apply: also the writes apply makes")
    parser.add_argument(
        "--config",
        default=None,
        metavar="DIR",
        help="the policy directory: scope the statements to its targets' regions and role ARNs",
    )
    parser.add_argument(
        "--lock-url",
        default=None,
        metavar="URL",
        help="apply mode: also allow the S3 apply lock's objects, s3://BUCKET/PREFIX (as given to apply --lock-url)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    regions: list[str] = []
    roles: list[str] = []
    if args.config:
        from reconciler.config import format_text, has_errors, load_policy

        policy, diagnostics = load_policy(args.config)
        if policy is None or has_errors(diagnostics):
            sys.stderr.write(format_text(diagnostics))
            raise UserError(f"{args.config}: the policy has errors", hint="fix them (see `reconciler validate`) and retry")
        regions = sorted({t.region for t in policy.targets.values()})
        roles = sorted({t.role_arn for t in policy.targets.values() if t.role_arn})
    if args.lock_url and not args.lock_url.startswith("s3://"):
        raise UserError(f"--lock-url {args.lock_url!r}: only S3 locks need IAM permissions", hint="use s3://BUCKET/PREFIX")
    sys.stdout.write(policy_json(args.mode, regions, roles, args.lock_url))
    return 0
