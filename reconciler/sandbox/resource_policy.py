"""Resource-based policies of sms-voice resources: their grammar and what they grant.

Used by the PutResourcePolicy handler (validation) and by ``sharing.usable_by`` (authorization of
a consumer account's call). Each rule's source, or the reasoning of an *assumption*, is in
docs/sandbox-operations.md, *PutResourcePolicy*. In short (strictest plausible where AWS is silent):

- A JSON object with ``Version`` ``2012-10-17`` and a non-empty ``Statement`` (object or list).
- Each statement: ``Effect`` ``Allow``; ``Principal`` ``{"AWS": ...}`` (12-digit account ids or
  ``arn:aws:iam::ACCOUNT:root``) and/or ``{"Service": ...}`` (``*.amazonaws.com``); ``Action`` the
  ``sms-voice:`` actions AWS lets consumers use on that resource type (:data:`ALLOWED_ACTIONS`);
  ``Resource`` exactly the resource's ARN; optional ``Sid`` and ``Condition``. ``NotPrincipal``,
  ``NotAction``, ``NotResource``, ``Deny``, wildcards and the caller's own account are refused.
- A statement with a ``Condition`` never authorizes a call made directly by an account: its
  documented keys (``aws:SourceAccount``, ``aws:SourceArn``) exist only in a service's request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox import sharing

VERSION = "2012-10-17"
SERVICE_PREFIX = "sms-voice:"
# Actions a consumer may be granted on each shareable type. Phone numbers, pools and sender IDs
# are origination identities (send); opt-out lists are read and written (shared-resources page).
_SEND = ("SendTextMessage", "SendVoiceMessage", "SendMediaMessage")
ALLOWED_ACTIONS: dict[str, frozenset[str]] = {
    sharing.PHONE_NUMBER: frozenset(SERVICE_PREFIX + a for a in (*_SEND, "DescribePhoneNumbers")),
    sharing.SENDER_ID: frozenset(SERVICE_PREFIX + a for a in ("SendTextMessage", "DescribeSenderIds")),
    sharing.POOL: frozenset(SERVICE_PREFIX + a for a in (*_SEND, "DescribePools")),
    sharing.OPT_OUT_LIST: frozenset(
        SERVICE_PREFIX + a
        for a in ("DescribeOptOutLists", "DescribeOptedOutNumbers", "PutOptedOutNumber", "DeleteOptedOutNumber")
    ),
}
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "Action", "Resource", "Condition"})
_ROOT_ARN = re.compile(r"^arn:aws:iam::(\d{12}):root$")
_CONDITION_OPERATORS = frozenset({"StringEquals", "StringLike", "ArnEquals", "ArnLike"})
_CONDITION_KEYS = frozenset({"aws:SourceAccount", "aws:SourceArn"})
MAX_STATEMENTS = 20  # assumption: no published limit below the 10,000-character document size


class PolicyError(ValueError):
    """The document breaks the grammar; the message says where and how."""


@dataclass(frozen=True)
class Statement:
    accounts: frozenset[str]
    services: frozenset[str]
    actions: frozenset[str]
    conditional: bool


def _strings(value: Any, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise PolicyError(f"{where} must be a non-empty string or list of strings")
    return items


def parse(text: str, resource_arn: str, owner: str) -> list[Statement]:
    """The statements of ``text`` for the resource ``resource_arn`` owned by ``owner``."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(f"the policy is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    if not isinstance(document, dict):
        raise PolicyError("the policy must be a JSON object")
    unknown = sorted(set(document) - {"Version", "Id", "Statement"})
    if unknown:
        raise PolicyError(f"unknown policy element {unknown[0]}")
    if document.get("Version") != VERSION:
        raise PolicyError(f'Version must be "{VERSION}"')
    raw = document.get("Statement")
    statements = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
    if not statements:
        raise PolicyError("Statement must be a non-empty object or list of objects")
    if len(statements) > MAX_STATEMENTS:
        raise PolicyError(f"a policy holds at most {MAX_STATEMENTS} statements")
    parsed = sharing.parse_sms_arn(resource_arn)
    kind = parsed[2] if parsed else ""
    return [_statement(item, index, resource_arn, kind, owner) for index, item in enumerate(statements)]


def _statement(item: Any, index: int, resource_arn: str, kind: str, owner: str) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(item, dict):
        raise PolicyError(f"{where} must be an object")
    unknown = sorted(set(item) - _STATEMENT_KEYS)
    if unknown:
        raise PolicyError(f"{where}: element {unknown[0]} is not supported in sms-voice resource policies")
    if item.get("Effect") != "Allow":
        raise PolicyError(f'{where}: Effect must be "Allow"')
    for required in ("Principal", "Action", "Resource"):
        if required not in item:
            raise PolicyError(f"{where}: {required} is required")
    principal = item["Principal"]
    if not isinstance(principal, dict) or not principal or set(principal) - {"AWS", "Service"}:
        raise PolicyError(f'{where}: Principal must be an object with "AWS" and/or "Service"')
    accounts: set[str] = set()
    for value in _strings(principal.get("AWS", []) or [], f"{where}.Principal.AWS") if "AWS" in principal else []:
        match = _ROOT_ARN.match(value)
        account = match.group(1) if match else value
        if not (len(account) == 12 and account.isdigit()):
            raise PolicyError(f"{where}: principal {value} is not an account id or arn:aws:iam::ACCOUNT:root "
                              "(sms-voice resources are shared with accounts and services, not IAM users or roles)")
        if account == owner:
            raise PolicyError(f"{where}: principal {value} is the resource owner's own account")
        accounts.add(account)
    services: set[str] = set()
    for value in _strings(principal["Service"], f"{where}.Principal.Service") if "Service" in principal else []:
        if not sharing.is_service_principal(value):
            raise PolicyError(f"{where}: {value} is not a service principal such as sns.amazonaws.com")
        services.add(value)
    actions = set(_strings(item["Action"], f"{where}.Action"))
    allowed = ALLOWED_ACTIONS.get(kind, frozenset())
    for action in sorted(actions):
        if action not in allowed:
            raise PolicyError(f"{where}: action {action} cannot be granted on this resource type; allowed: "
                              + ", ".join(sorted(allowed)))
    for resource in _strings(item["Resource"], f"{where}.Resource"):
        if resource != resource_arn:
            raise PolicyError(f"{where}: Resource {resource} must be the ARN of the resource the policy is attached to")
    conditional = "Condition" in item
    if conditional:
        _condition(item["Condition"], where)
    return Statement(frozenset(accounts), frozenset(services), frozenset(actions), conditional)


def _condition(condition: Any, where: str) -> None:
    if not isinstance(condition, dict) or not condition:
        raise PolicyError(f"{where}: Condition must be a non-empty object")
    for operator, block in condition.items():
        if operator not in _CONDITION_OPERATORS:
            raise PolicyError(f"{where}: condition operator {operator} is not supported")
        if not isinstance(block, dict) or not block:
            raise PolicyError(f"{where}: Condition.{operator} must be a non-empty object")
        for key, value in block.items():
            if key not in _CONDITION_KEYS:
                raise PolicyError(f"{where}: condition key {key} is not supported")
            _strings(value, f"{where}.Condition.{operator}.{key}")


def principals(statements: list[Statement]) -> list[str]:
    """Every principal the statements name (what RAM associates with the linked share)."""
    return sorted({p for s in statements for p in (*s.accounts, *s.services)})


def allows(text: str, resource_arn: str, owner: str, account: str, action: str) -> bool:
    """Whether the stored policy lets ``account`` call ``action`` on the resource."""
    try:
        statements = parse(text, resource_arn, owner)
    except PolicyError:
        return False
    return any(account in s.accounts and action in s.actions and not s.conditional for s in statements)
