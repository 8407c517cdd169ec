"""The shares area's policy section as typed data: RAM resource shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.config.model import Source


@dataclass(frozen=True)
class ResourceRef:
    kind: Literal["phone_number", "sender_id", "pool", "opt_out_list"]
    ref: str  # as in the corresponding *Spec.ref / name
    source: Source | None = None


@dataclass(frozen=True)
class ShareSpec:
    name: str
    principals: tuple[str, ...] = ()  # account ids, OU ARNs, organization ARNs
    allow_external_principals: bool = False
    # AWS managed permissions named explicitly; each resource type's default is attached anyway.
    permissions: tuple[str, ...] = ()
    resources: tuple[ResourceRef, ...] = ()
    source: Source | None = None
