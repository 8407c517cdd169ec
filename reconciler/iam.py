"""Least-privilege IAM policies, generated from the operations the areas declare.

The areas' ``operations`` (``reconciler.areas.base.ApiOperation``) are the one source of truth:
the engine calls AWS only through them, the rate limiter reads their quotas, and this module
turns them into the IAM policy a role needs for ``plan`` (reads) or ``apply`` (reads and writes).

Resource scoping: most sms-voice ``Describe*`` and RAM ``Get*``/``List*`` actions do not support
resource-level permissions (the service authorization reference lists no resource type for
them), so statements use ``"Resource": "*"`` and are scoped by region with the
``aws:RequestedRegion`` condition when the targets are known. ``sts:AssumeRole`` is granted only
on the targets' role ARNs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from reconciler.areas.base import ApiOperation, declarations

Mode = Literal["plan", "apply"]
# Always needed: the engine checks which account the credentials belong to before anything else.
CALLER_IDENTITY = "sts:GetCallerIdentity"


def declared_operations() -> list[ApiOperation]:
    """Every operation any area (or the engine: the drift feed) declares, de-duplicated by IAM
    action, sorted."""
    seen: dict[str, ApiOperation] = {}
    for op in declarations():
        existing = seen.get(op.iam_action)
        # An action declared as "write" anywhere is a write.
        if existing is None or (existing.mode == "read" and op.mode == "write"):
            seen[op.iam_action] = op
    return [seen[action] for action in sorted(seen)]


def actions_for(mode: Mode) -> list[str]:
    """The IAM actions ``mode`` needs: reads for plan; reads and writes for apply."""
    wanted = {"read"} if mode == "plan" else {"read", "write"}
    actions = {op.iam_action for op in declared_operations() if op.mode in wanted}
    actions.add(CALLER_IDENTITY)
    return sorted(actions)


def _sid(prefix: str, mode: str) -> str:
    words = prefix.replace("-", " ").title().replace(" ", "")
    return f"{words}{mode.title()}"


# The S3 lock (reconciler.locking.s3) reads, writes (conditionally) and deletes one object per target.
LOCK_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")


def lock_resource(lock_url: str) -> str:
    """``s3://bucket/prefix`` -> the ARN pattern of the lock objects."""
    bucket, _, prefix = lock_url.removeprefix("s3://").partition("/")
    return f"arn:aws:s3:::{bucket}/{prefix or 'reconciler/locks/'}*"


def policy(
    mode: Mode, regions: Iterable[str] = (), role_arns: Iterable[str] = (), lock_url: str | None = None
) -> dict[str, Any]:
    """The IAM policy document for ``mode``: one statement per service prefix and access level.

    ``lock_url`` (``s3://bucket/prefix``, apply only): the objects of the apply lock.
    """
    regions = sorted(set(regions))
    by_key: dict[tuple[str, str], set[str]] = {}
    ops = {op.iam_action: op for op in declared_operations()}
    for action in actions_for(mode):
        if action == CALLER_IDENTITY:
            continue
        prefix = action.split(":", 1)[0]
        by_key.setdefault((prefix, ops[action].mode), set()).add(action)
    statements: list[dict[str, Any]] = []
    for (prefix, access), actions in sorted(by_key.items()):
        statement: dict[str, Any] = {
            "Sid": _sid(prefix, access),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": "*",
        }
        if regions:
            statement["Condition"] = {"StringEquals": {"aws:RequestedRegion": regions}}
        statements.append(statement)
    statements.append({"Sid": "WhoAmI", "Effect": "Allow", "Action": [CALLER_IDENTITY], "Resource": "*"})
    roles = sorted(set(role_arns))
    if roles:
        statements.append({"Sid": "AssumeTargetRoles", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": roles})
    if lock_url and mode == "apply":
        statements.append({"Sid": "ApplyLock", "Effect": "Allow", "Action": list(LOCK_ACTIONS), "Resource": lock_resource(lock_url)})
    return {"Version": "2012-10-17", "Statement": statements}


def policy_json(
    mode: Mode, regions: Iterable[str] = (), role_arns: Iterable[str] = (), lock_url: str | None = None
) -> str:
    return json.dumps(policy(mode, regions, role_arns, lock_url), indent=2, sort_keys=False) + "\n"
