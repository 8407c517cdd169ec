"""Import of the shares area: RAM resource shares this account owns, naming their resources the
way the other areas' files write them. Shares without principals cannot be written (the policy
requires one) and are left out, with a note."""

from __future__ import annotations

from collections import Counter
from typing import Any

from reconciler.areas.importing import AreaImporter, ImportContext, ImportedArea
from reconciler.areas.shares.area import LiveShares, SharesArea, permission_name, resource_ref
from reconciler.aws import Api
from reconciler.config.model import Target


def read(api: Api, target: Target) -> LiveShares:
    return SharesArea().read_everything(api)


def render(live: LiveShares, context: ImportContext) -> ImportedArea:
    names = Counter(s.name for s in live.shares)
    docs = []
    for share in sorted(live.shares, key=lambda s: (s.name, s.arn)):
        principals = sorted(share.current("principal"))
        if not principals or names[share.name] != 1:
            continue
        resources = []
        for arn in sorted(share.current("resource")):
            ref = resource_ref(arn)
            if ref is None:
                continue
            value = context.refs.get(arn) if ref.kind in ("phone_number", "pool") else None
            resources.append({ref.kind: value or ref.ref})
        doc: dict[str, Any] = {"name": share.name, "principals": principals}
        if share.allow_external_principals:
            doc["allow_external_principals"] = True
        permissions = sorted(permission_name(p) for p in share.permissions)
        if permissions:
            doc["permissions"] = permissions
        if resources:
            doc["resources"] = sorted(resources, key=lambda r: (next(iter(r)), next(iter(r.values()))))
        docs.append(doc)
    return ImportedArea({"shares": docs})


def _notes(live: LiveShares) -> list[str]:
    return [
        f"share {s.name} ({s.arn}) has no principals; the policy requires at least one, so it is not imported"
        for s in live.shares
        if not s.current("principal")
    ]


IMPORTER = AreaImporter("shares.yaml", ("shares",), read, render, notes=_notes)
