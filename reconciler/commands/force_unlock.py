"""``reconciler force-unlock TARGET --lock-id ID``: remove a lock left by a run that died.

Like ``terraform force-unlock``, it needs the lock's id (printed in the "is locked" error) so
that nobody removes a lock other than the one they looked at.
"""

from __future__ import annotations

import argparse
import sys
import time

from reconciler.cli import UserError
from reconciler.locking import LOCK_URL_ENV, force_unlock, lock_key, open_backend


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "force-unlock",
        help="remove a target's lock left behind by a run that died",
        description=(
            "Remove the lock on TARGET (ACCOUNT/REGION, or a target name from the policy) if its id is "
            "--lock-id. Only do this when the run holding it is known to be dead."
        ),
    )
    parser.add_argument("target", metavar="TARGET", help="ACCOUNT/REGION, e.g. 123456789012/us-east-1, or a target name")
    parser.add_argument("--lock-id", required=True, metavar="ID", help="the id shown in the 'is locked' error")
    parser.add_argument(
        "--lock-url",
        default=None,
        metavar="URL",
        help=f"s3://BUCKET/PREFIX or a directory (default: ${LOCK_URL_ENV} or .reconciler/locks)",
    )
    parser.add_argument("--config", default="config", metavar="DIR",
                        help="the policy directory, to resolve a target name (default: config)")
    parser.set_defaults(func=run)


def resolve_target(name: str, config_dir: str) -> str:
    account, sep, _ = name.partition("/")
    if sep and account.isdigit():
        return lock_key(name)
    from reconciler import config  # only needed for names, and only then

    policy, _diagnostics = config.load_policy(config_dir)
    if policy is None or name not in policy.targets:
        known = ", ".join(sorted(policy.targets)) if policy else "none (the policy did not load)"
        raise UserError(
            f"unknown target {name!r} in {config_dir}",
            hint=f"use ACCOUNT/REGION, or one of: {known}",
        )
    return lock_key(policy.targets[name])


def run(args: argparse.Namespace) -> int:
    key = resolve_target(args.target, args.config)
    removed = force_unlock(key, open_backend(args.lock_url), args.lock_id)
    held = removed.describe(time.time()) if removed else "an unreadable lock"
    print(f"removed the lock on {key}, held by {held}", file=sys.stdout)
    return 0
