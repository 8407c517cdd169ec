"""The resource_policies area's policy section as typed data."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.areas.shares.spec import ResourceRef
from reconciler.config.model import Source


@dataclass(frozen=True)
class PolicyGrantSpec:
    """Principals (account ids, service principals) and the sms-voice actions granted to them."""

    principals: tuple[str, ...]
    actions: tuple[str, ...]  # expanded ``sms-voice:`` actions, sorted
    source: Source | None = None


@dataclass(frozen=True)
class ResourcePolicySpec:
    """The resource-based policy of one shareable resource. No grants and no statements: the
    resource has no policy."""

    resource: ResourceRef
    grants: tuple[PolicyGrantSpec, ...] = ()
    # Raw statements for experts, canonical JSON (sorted keys), without ``Resource``.
    statements: tuple[str, ...] = ()
    source: Source | None = None
