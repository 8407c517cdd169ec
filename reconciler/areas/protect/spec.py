"""The protect area's policy section as typed data: protect configurations (country rules per
capability, number overrides, configuration-set associations) and emergency blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.config.model import Source

Capability = Literal["SMS", "VOICE", "MMS", "RCS"]
ProtectStatus = Literal["ALLOW", "BLOCK", "MONITOR", "FILTER"]
CAPABILITIES: tuple[Capability, ...] = ("SMS", "VOICE", "MMS", "RCS")
STATUSES: tuple[ProtectStatus, ...] = ("ALLOW", "BLOCK", "MONITOR", "FILTER")

@dataclass(frozen=True)
class ConfigurationSetSpec:
    name: str
    protect_configuration: str | None = None  # a ProtectConfigurationSpec name; None: not managed
    source: Source | None = None


@dataclass(frozen=True)
class CapabilityRules:
    """Rules for one capability: every country not listed has ``default``."""

    default: ProtectStatus = "ALLOW"
    countries: dict[str, ProtectStatus] = field(default_factory=dict)  # ISO alpha-2 -> status

    def status(self, country: str) -> ProtectStatus:
        return self.countries.get(country, self.default)


@dataclass(frozen=True)
class NumberOverrideSpec:
    number: str  # E.164
    action: Literal["ALLOW", "BLOCK"]
    expires: str | None = None  # ISO 8601 timestamp, UTC
    source: Source | None = None


@dataclass(frozen=True)
class ProtectConfigurationSpec:
    name: str  # the Name tag
    # Only the capabilities the policy lists are managed; others are left as they are.
    rules: dict[Capability, CapabilityRules] = field(default_factory=dict)
    account_default: bool = False
    deletion_protection: bool | None = None
    configuration_sets: tuple[str, ...] = ()
    number_overrides: tuple[NumberOverrideSpec, ...] = ()
    source: Source | None = None


@dataclass(frozen=True)
class EmergencyBlock:
    """Blocks ``country`` on every managed protect configuration, overriding any other status."""

    country: str
    capabilities: tuple[Capability, ...] = CAPABILITIES
    reason: str | None = None
    source: Source | None = None
