"""The ``resource_policies`` language: resource-based policies on shareable identities and lists.

The second way to share (beside RAM shares): a policy attached to one phone number, sender ID,
pool or opt-out list with PutResourcePolicy. Written as grants of named presets (or raw
``sms-voice:`` actions) to principals, plus raw IAM statements for experts::

    resource_policies:
      - resource: {phone_number: "+18885550100"}
        grants:
          - {principals: ["222222222222", sns.amazonaws.com], allow: [send]}
      - resource: {opt_out_list: shared-optouts}
        grants:
          - {principals: ["222222222222"], allow: [use-opt-out-list]}

``grants: []`` with no statements declares that the resource has no policy (the plan deletes one).
Pure: validation returns problems with their YAML marks; semantic.py reports them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.areas.resource_policies.spec import PolicyGrantSpec, ResourcePolicySpec
from reconciler.areas.shares.spec import ResourceRef
from reconciler.config.model import Source
from reconciler.config.yaml_loader import Mark, YamlMap, YamlSeq

PREFIX = "sms-voice:"
_SEND = ("sms-voice:SendMediaMessage", "sms-voice:SendTextMessage", "sms-voice:SendVoiceMessage")
# The actions AWS lets a consumer be granted on each kind (docs/sandbox-operations.md, "Resource
# policies"; the sandbox enforces the same table, and a test keeps the two equal).
ALLOWED: dict[str, frozenset[str]] = {
    "phone_number": frozenset({*_SEND, "sms-voice:DescribePhoneNumbers"}),
    "pool": frozenset({*_SEND, "sms-voice:DescribePools"}),
    "sender_id": frozenset({"sms-voice:SendTextMessage", "sms-voice:DescribeSenderIds"}),
    "opt_out_list": frozenset({"sms-voice:DescribeOptOutLists", "sms-voice:DescribeOptedOutNumbers",
                               "sms-voice:PutOptedOutNumber", "sms-voice:DeleteOptedOutNumber"}),
}
_OPT_OUT_USE = ("sms-voice:DescribeOptOutLists", "sms-voice:DescribeOptedOutNumbers", "sms-voice:PutOptedOutNumber")
# Named presets: what each grants on each kind it applies to.
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "send": {"phone_number": _SEND, "pool": _SEND, "sender_id": ("sms-voice:SendTextMessage",)},
    "send-text": {kind: ("sms-voice:SendTextMessage",) for kind in ("phone_number", "pool", "sender_id")},
    "describe": {"phone_number": ("sms-voice:DescribePhoneNumbers",), "pool": ("sms-voice:DescribePools",),
                 "sender_id": ("sms-voice:DescribeSenderIds",), "opt_out_list": ("sms-voice:DescribeOptOutLists",)},
    # Consumers read the list and record their recipients' STOP replies in it; never remove one.
    "use-opt-out-list": {"opt_out_list": _OPT_OUT_USE},
    "manage-opt-out-list": {"opt_out_list": (*_OPT_OUT_USE, "sms-voice:DeleteOptedOutNumber")},
}
SEND_ACTIONS = frozenset(_SEND)
MAX_POLICY_CHARS = 10_000  # PutResourcePolicy's Policy: "Maximum length of 10000"
LONGEST_ARN = "arn:aws:sms-voice:" + "x" * 238  # ResourceArn: "Maximum length of 256"
ACCOUNT = re.compile(r"^\d{12}$")
SERVICE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$")
_ROOT = re.compile(r"^arn:aws:iam::(\d{12}):root$")
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "Action", "Condition"})
_CONDITION_OPERATORS = frozenset({"StringEquals", "StringLike", "ArnEquals", "ArnLike"})
_CONDITION_KEYS = frozenset({"aws:SourceAccount", "aws:SourceArn"})


@dataclass(frozen=True)
class Problem:
    mark: Mark
    code: str
    message: str
    hint: str


@dataclass(frozen=True, order=True)
class Grant:
    """One principal allowed one action, optionally under a condition (canonical JSON, "" if none)."""

    principal: str
    action: str
    condition: str = ""


def resource_of(data: YamlMap) -> tuple[str, str]:
    kind, value = next(iter(data["resource"].items()))
    return str(kind), str(value)


def principal_id(value: str) -> str:
    """``arn:aws:iam::ACCOUNT:root`` and ``ACCOUNT`` are one principal; the id is the account."""
    match = _ROOT.match(value)
    return match.group(1) if match else value


def expand(kind: str, allow: list[str]) -> tuple[str, ...]:
    actions: set[str] = set()
    for entry in allow:
        actions.update(PRESETS.get(entry, {}).get(kind, ()) if not entry.startswith(PREFIX) else (entry,))
    return tuple(sorted(actions))


def check(data: YamlMap, owner_accounts: set[str]) -> list[Problem]:
    """Every problem of one ``resource_policies`` item (schema-valid), with its YAML mark."""
    kind, _ = resource_of(data)
    problems: list[Problem] = []
    grants = data.get("grants")
    if isinstance(grants, YamlSeq):
        for grant in grants:
            problems += _check_grant(grant, kind, owner_accounts)
    statements = data.get("statements")
    if isinstance(statements, YamlSeq):
        for index, statement in enumerate(statements):
            problems += _check_statement(statement, statements.item_marks[index], kind, owner_accounts)
    if not problems:
        length = len(document(LONGEST_ARN, grants_of(spec_of(data, "", None))))
        if length > MAX_POLICY_CHARS:
            problems.append(Problem(data.mark, "policy-too-large",
                                    f"the resource policy would be {length:,} characters; AWS accepts at most "
                                    f"{MAX_POLICY_CHARS:,}", "grant fewer principals per resource, or use a RAM share"))
    return problems


def _check_grant(grant: YamlMap, kind: str, owners: set[str]) -> Iterator[Problem]:
    allow, principals = grant["allow"], grant["principals"]
    for index, entry in enumerate(allow):
        mark = allow.item_marks[index]
        if entry.startswith(PREFIX):
            if entry not in ALLOWED[kind]:
                yield Problem(mark, "policy-action-not-allowed", f"{entry} cannot be granted on a {_kind(kind)}",
                              "grantable actions: " + ", ".join(sorted(ALLOWED[kind])))
        elif entry not in PRESETS:
            close = difflib.get_close_matches(entry, sorted(PRESETS), n=1)
            yield Problem(mark, "policy-unknown-preset", f"{entry!r} is not a preset",
                          f"did you mean {close[0]!r}?" if close else "presets: " + ", ".join(sorted(PRESETS))
                          + "; or write an action such as sms-voice:SendTextMessage")
        elif kind not in PRESETS[entry]:
            fits = sorted(name for name, kinds in PRESETS.items() if kind in kinds)
            yield Problem(mark, "policy-preset-not-applicable", f"preset {entry!r} does not apply to a {_kind(kind)}",
                          "presets for it: " + ", ".join(fits))
    for index, principal in enumerate(principals):
        if principal_id(principal) in owners:
            yield Problem(principals.item_marks[index], "policy-own-account",
                          f"{principal} is the target's own account, which needs no grant",
                          "remove it; grants are for other accounts and services")


def _check_statement(statement: Any, mark: Mark, kind: str, owners: set[str]) -> Iterator[Problem]:
    def problem(message: str, hint: str) -> Problem:
        return Problem(mark, "policy-statement-invalid", message, hint)

    if not isinstance(statement, dict):
        yield problem("a statement must be a mapping", "write Effect, Principal and Action")
        return
    unknown = sorted(set(statement) - _STATEMENT_KEYS)
    if "Resource" in unknown:
        yield problem("Resource is filled in by the reconciler (the resource's ARN)", "remove Resource")
        unknown.remove("Resource")
    for key in unknown:
        yield problem(f"{key} is not supported in sms-voice resource policies",
                      "use Sid, Effect, Principal, Action and Condition only")
    if statement.get("Effect") != "Allow":
        yield problem('Effect must be "Allow"', "a resource policy here only grants; remove the statement to deny")
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or not principal or set(principal) - {"AWS", "Service"}:
        yield problem('Principal must be a mapping with "AWS" and/or "Service"',
                      'e.g. Principal: {AWS: ["222222222222"]} or {Service: sns.amazonaws.com}')
    else:
        for value in _strings(principal.get("AWS")):
            if not ACCOUNT.match(principal_id(value)):
                yield problem(f"principal {value} is not an account id or arn:aws:iam::ACCOUNT:root",
                              "sms-voice resources are shared with accounts and services, not IAM users or roles")
            elif principal_id(value) in owners:
                yield problem(f"principal {value} is the target's own account", "remove it")
        for value in _strings(principal.get("Service")):
            if not SERVICE.match(value):
                yield problem(f"{value} is not a service principal", "e.g. sns.amazonaws.com")
    actions = _strings(statement.get("Action"))
    if not actions:
        yield problem("Action is required", "e.g. Action: sms-voice:SendTextMessage")
    for action in actions:
        if action not in ALLOWED[kind]:
            yield problem(f"{action} cannot be granted on a {_kind(kind)}",
                          "grantable actions: " + ", ".join(sorted(ALLOWED[kind])))
    condition = statement.get("Condition")
    if condition is not None:
        valid = isinstance(condition, dict) and condition and all(
            op in _CONDITION_OPERATORS and isinstance(block, dict) and block and set(block) <= _CONDITION_KEYS
            for op, block in condition.items())
        if not valid:
            yield problem("Condition supports StringEquals, StringLike, ArnEquals, ArnLike on aws:SourceAccount "
                          "and aws:SourceArn", "confine a service principal with aws:SourceAccount")


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items]


def _kind(kind: str) -> str:
    return kind.replace("_", " ")


def spec_of(data: YamlMap, file: str, source: Source | None) -> ResourcePolicySpec:
    kind, value = resource_of(data)
    grants = []
    seq = data.get("grants")
    if isinstance(seq, YamlSeq):
        for grant in seq:
            grants.append(PolicyGrantSpec(
                principals=tuple(sorted({principal_id(str(p)) for p in grant["principals"]})),
                actions=expand(kind, [str(a) for a in grant["allow"]]),
                source=Source(file, grant.mark.line, grant.mark.column)))
    statements = tuple(json.dumps(_plain(s), sort_keys=True) for s in (data.get("statements") or []))
    ref_mark = data.value_marks.get("resource", data.mark)
    ref = ResourceRef(kind, value, Source(file, ref_mark.line, ref_mark.column))  # type: ignore[arg-type]
    return ResourcePolicySpec(resource=ref, grants=tuple(grants), statements=statements, source=source)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if isinstance(value, bool) else str(value)


# The grant model shared by the area (diff, write ordering), import and the effect model ----------


def grants_of(spec: ResourcePolicySpec) -> frozenset[Grant]:
    """Everything a declared policy grants, principal by principal and action by action."""
    found = {Grant(p, a) for grant in spec.grants for p in grant.principals for a in grant.actions}
    for text in spec.statements:
        found |= statement_grants(json.loads(text))
    return frozenset(found)


def statement_grants(statement: dict[str, Any]) -> set[Grant]:
    if statement.get("Effect") != "Allow":
        return set()
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return set()
    condition = json.dumps(statement["Condition"], sort_keys=True) if statement.get("Condition") else ""
    who = [principal_id(p) for p in _strings(principal.get("AWS"))] + _strings(principal.get("Service"))
    return {Grant(p, a, condition) for p in who for a in _strings(statement.get("Action"))}


def parse_document(text: str) -> frozenset[Grant] | None:
    """The grants of a live policy document; None when it cannot be read as one."""
    try:
        document_value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(document_value, dict):
        return None
    raw = document_value.get("Statement")
    statements = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    found: set[Grant] = set()
    for statement in statements:
        if isinstance(statement, dict):
            found |= statement_grants(statement)
    return frozenset(found)


def document(resource_arn: str, grants: frozenset[Grant]) -> str:
    """The canonical policy document for ``grants``: one statement per (condition, actions) group,
    its principals sorted; deterministic so a re-plan compares equal."""
    by_principal: dict[tuple[str, str], set[str]] = {}
    for grant in grants:
        by_principal.setdefault((grant.principal, grant.condition), set()).add(grant.action)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (principal, condition), actions in by_principal.items():
        groups.setdefault((condition, tuple(sorted(actions))), []).append(principal)
    statements = []
    for (condition, granted), principals in sorted(groups.items()):
        accounts = sorted(p for p in principals if ACCOUNT.match(p))
        services = sorted(p for p in principals if not ACCOUNT.match(p))
        who: dict[str, Any] = {}
        if accounts:
            who["AWS"] = accounts
        if services:
            who["Service"] = services
        statement: dict[str, Any] = {"Effect": "Allow", "Principal": who, "Action": list(granted),
                                     "Resource": resource_arn}
        if condition:
            statement["Condition"] = json.loads(condition)
        statements.append(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))
