"""The JSON plan document: ``plan --format json`` prints it and ``plan --out FILE`` saves it.

One schema for both (documented in docs/plan-json.md)::

    {"format": "sms-policy-reconciler/plan", "version": 2,
     "summary": {"targets": 1, "changes": 3, "by_action": {...}},
     "plans": [ {target, account_id, region, areas, fingerprint, area_fingerprints,
                 secret_digests, scope_sizes, strategies, warnings, unmanaged,
                 guard_findings, counts, effects, changes: [Change.to_json()...]} ]}

Keys are sorted and lists ordered (changes by execution order, targets by name) so equal plans
give byte-identical documents. Raw opted-out numbers never appear (see reconciler.fingerprint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.files import write_private
from reconciler.plan import ACTIONS, Change, Plan
from reconciler.report.escape import json_text, masked

FORMAT = "sms-policy-reconciler/plan"
DRIFT_FORMAT = "sms-policy-reconciler/drift"
VERSION = 2  # 2: plans carry `effects` (docs/plan-json.md, "Versions")
READABLE_VERSIONS = (1, 2)  # a version-1 plan reads as one without an effect summary


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "target": plan.target,
        "account_id": plan.account_id,
        "region": plan.region,
        "areas": list(plan.areas),
        "fingerprint": plan.fingerprint,
        "area_fingerprints": dict(sorted(plan.area_fingerprints.items())),
        "secret_digests": dict(sorted(plan.secret_digests.items())),
        "scope_sizes": dict(sorted(plan.scope_sizes.items())),
        "strategies": dict(sorted(plan.strategies.items())),
        # Free text read from AWS (names, tags, messages): masked like every other channel.
        "warnings": masked(list(plan.warnings)),
        "unmanaged": masked(list(plan.unmanaged)),
        "pending": masked(list(plan.pending)),
        # Grants to other principals the policy does not declare: drift, shown first by reports.
        "security": masked(list(plan.security)),
        "guard_findings": masked(list(plan.guard_findings)),
        "counts": plan.counts(),
        # What the plan changes in effect (docs/plan-json.md "effects"); identities and names masked.
        **({"effects": masked(plan.effects)} if plan.effects is not None else {}),
        **({"drift_mode": masked(plan.drift_mode)} if plan.drift_mode is not None else {}),
        "changes": [change.to_json() for change in plan.sorted_changes()],
    }


def plan_from_json(value: dict[str, Any]) -> Plan:
    return Plan(
        target=str(value["target"]),
        changes=[Change.from_json(c) for c in value.get("changes", [])],
        fingerprint=str(value.get("fingerprint", "")),
        strategies=dict(value.get("strategies") or {}),
        warnings=[str(w) for w in value.get("warnings") or []],
        unmanaged=list(value.get("unmanaged") or []),
        pending=list(value.get("pending") or []),
        security=list(value.get("security") or []),
        account_id=str(value.get("account_id", "")),
        region=str(value.get("region", "")),
        areas=[str(a) for a in value.get("areas") or []],
        area_fingerprints=dict(value.get("area_fingerprints") or {}),
        secret_digests=dict(value.get("secret_digests") or {}),
        scope_sizes={str(k): int(v) for k, v in (value.get("scope_sizes") or {}).items()},
        guard_findings=[str(f) for f in value.get("guard_findings") or []],
        effects=value.get("effects"),
        drift_mode=value.get("drift_mode"),
    )


def summary(plans: list[Plan]) -> dict[str, Any]:
    by_action = {action: sum(p.counts()[action] for p in plans) for action in ACTIONS}
    return {"targets": len(plans), "changes": sum(len(p.changes) for p in plans), "by_action": by_action}


def document(plans: list[Plan]) -> dict[str, Any]:
    ordered = sorted(plans, key=lambda p: p.target)
    return {
        "format": FORMAT,
        "version": VERSION,
        "summary": summary(ordered),
        "plans": [plan_to_json(p) for p in ordered],
    }


def render(plans: list[Plan]) -> str:
    return json_text(document(plans)) + "\n"


def save(plans: list[Plan], path: str | Path) -> None:
    """Write the plan file, owner-only (it holds digests of opted-out numbers), never half-written."""
    write_private(path, render(plans), "plan file")


def load(path: str | Path) -> list[Plan]:
    """A saved plan (``plan --out``), bounded and validated against the plan schema."""
    from reconciler.report.plan_input import read_plans

    return read_plans(path, formats=(FORMAT,))
