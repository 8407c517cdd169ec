"""Who can send from which identity, and use which opt-out list: before and after a plan.

Pure: from the live states of the ``shares`` and ``resource_policies`` areas and the plan's
changes. A principal can use a resource through a STANDARD RAM share (the AWS managed permission
grants every send and list action) or through a resource policy (exactly the actions granted, a
grant under a condition only for the service it confines). The summary lists the principals that
gain or lose an action, grouped as "send" (SMS, voice, media) or the opt-out list actions, with
the opt-out list the identity honours, so a reviewer reads "222222222222 gains send from
phone_number +18885550100 (honours opt-out list shared)".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.areas.resource_policies.language import ALLOWED, SEND_ACTIONS, Grant, parse_document

Access = frozenset[tuple[str, str, str]]  # (principal, resource ARN, action)


def _kind_of(arn: str) -> str | None:
    prefix = arn.split(":", 5)[-1].split("/", 1)[0]
    return {"phone-number": "phone_number", "sender-id": "sender_id", "pool": "pool",
            "opt-out-list": "opt_out_list"}.get(prefix)


def _share_access(shares: Any, changes: Iterable[Any] | None) -> Access:
    """What the STANDARD shares grant, after ``changes`` to them when given."""
    if shares is None:
        return frozenset()
    members: dict[str, tuple[set[str], set[str]]] = {}
    for share in shares.shares:
        if share.feature_set == "STANDARD":
            members[share.arn] = (set(share.current("principal")), set(share.current("resource")))
    names = {share.name: share.arn for share in shares.shares if share.feature_set == "STANDARD"}
    for change in changes or ():
        if change.area != "shares" or "blocked" in change.flags:
            continue
        data = change.data
        if change.resource_type == "resource-share" and change.action == "create":
            members[f"new:{data['name']}"] = (set(data.get("principals") or ()), set(data.get("resource_arns") or ()))
        elif change.resource_type == "resource-share" and change.action == "delete":
            members.pop(str(data.get("share_arn")), None)
        elif change.resource_type in ("share-principal", "share-resource"):
            arn = str(data.get("share_arn") or names.get(str(change.scope or "").split("/", 1)[-1], ""))
            target = members.setdefault(arn, (set(), set()))[0 if change.resource_type == "share-principal" else 1]
            (target.add if change.action == "add" else target.discard)(str(data["entity"]))
    access = set()
    for principals, resources in members.values():
        for arn in resources:
            kind = _kind_of(arn)
            if kind is None:
                continue
            access |= {(p, arn, a) for p in principals for a in ALLOWED[kind]}
    return frozenset(access)


def _policy_access(policies: Any, changes: Iterable[Any] | None) -> Access:
    if policies is None:
        return frozenset()
    grants: dict[str, frozenset[Grant]] = {arn: frozenset(r.grants) for arn, r in policies.resources.items()
                                           if r.document is not None}
    for change in sorted(changes or (), key=lambda c: c.sort_key()):
        if change.area != "resource_policies":
            continue
        arn = str(change.data["resource_arn"])
        if change.action == "delete":
            grants.pop(arn, None)
        else:
            grants[arn] = parse_document(str(change.data["document"])) or frozenset()
    return frozenset((g.principal, arn, g.action) for arn, found in grants.items() for g in found
                     if not g.condition or not g.principal.isdigit())


def access(lives: dict[str, Any], changes: Iterable[Any] | None = None) -> Access:
    """Every (principal, resource, action) the account grants, after ``changes`` when given."""
    changes = list(changes) if changes is not None else None
    return _share_access(lives.get("shares"), changes) | _policy_access(lives.get("resource_policies"), changes)


def _group(action: str) -> str:
    return "send" if action in SEND_ACTIONS else action.removeprefix("sms-voice:")


def send_grant_effects(lives: dict[str, Any], changes: list[Any],
                       honours: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Principals that gain or lose an action on a resource, gains first. ``honours``: identity id
    -> the opt-out list(s) it honours after the plan (else the list read live)."""
    if lives.get("shares") is None and lives.get("resource_policies") is None:
        return []
    before, after = access(lives), access(lives, changes)
    policies = lives.get("resource_policies")
    resources = getattr(policies, "resources", {}) or {}
    labels = dict(getattr(lives.get("shares"), "labels", {}) or {})
    found: dict[tuple[str, str, str], set[str]] = {}
    for change, items in (("gains", after - before), ("loses", before - after)):
        for principal, arn, action in items:
            found.setdefault((change, principal, arn), set()).add(_group(action))
    effects = []
    for (change, principal, arn), actions in found.items():
        resource = resources.get(arn)
        kind = _kind_of(arn) or "phone_number"
        # The number or name read with the policies, else the share's reference, else the ARN's id.
        label = (resource.label.split(" ", 1)[1] if resource else
                 labels[arn].split(":", 1)[-1] if arn in labels else arn.split(":", 5)[-1].split("/", 1)[-1])
        honoured = (honours or {}).get(arn.rsplit("/", 1)[-1]) or (resource.opt_out_list if resource else None)
        effects.append({"change": change, "principal": principal, "kind": kind, "resource": label,
                        "actions": sorted(actions), "opt_out_list": honoured if kind != "opt_out_list" else None})
    return sorted(effects, key=lambda e: (e["change"] != "gains", e["kind"], e["resource"], e["principal"]))
