"""The validated, typed policy: what the engine reconciles live state towards.

Produced by ``reconciler.config.load_policy`` (loader -> schema -> semantic checks); consumed by
the policy areas in ``reconciler.areas``. Everything here is plain data: no AWS, no I/O.
Every item carries the :class:`Source` of its YAML mapping so plans and errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Capability = Literal["SMS", "VOICE", "MMS", "RCS"]
ProtectStatus = Literal["ALLOW", "BLOCK", "MONITOR", "FILTER"]
CAPABILITIES: tuple[Capability, ...] = ("SMS", "VOICE", "MMS", "RCS")
STATUSES: tuple[ProtectStatus, ...] = ("ALLOW", "BLOCK", "MONITOR", "FILTER")
AREAS: tuple[str, ...] = ("shares", "phone_numbers", "protect", "opt_outs")


@dataclass(frozen=True)
class Source:
    file: str  # path relative to the config directory's parent, as the user would type it
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# "By default you can have up to 25 protect configurations" per account and Region (user guide,
# "Quotas for AWS End User Messaging SMS"). No default number-override quota is published.
DEFAULT_PROTECT_CONFIGURATIONS_QUOTA = 25


@dataclass(frozen=True)
class TargetQuotas:
    """The account's resource quotas in the target's Region: AWS's defaults unless the policy says
    AWS raised them (``targets[].quotas``)."""

    protect_configurations: int = DEFAULT_PROTECT_CONFIGURATIONS_QUOTA
    number_overrides_per_protect_configuration: int | None = None  # None: no known limit
    source: Source | None = None


@dataclass(frozen=True)
class Target:
    name: str
    account_id: str  # 12 digits, leading zeros kept
    region: str
    role_arn: str | None = None
    source: Source | None = None
    quotas: TargetQuotas = field(default_factory=TargetQuotas)
    # The share of each API rate quota the reconciler may use here (``targets[].quota_share``);
    # None: the whole quota, unless ``--quota-share`` says otherwise.
    quota_share: float | None = None


@dataclass(frozen=True)
class PhoneNumberSpec:
    """A phone number the policy manages, addressed by id (phone-…) or E.164 number."""

    ref: str  # "phone-…" id or "+1…" E.164, as written
    international_sending: bool | None = None  # None: not managed
    opt_out_list: str | None = None
    deletion_protection: bool | None = None
    source: Source | None = None


@dataclass(frozen=True)
class PoolSpec:
    ref: str  # pool id or the pool's Name tag
    opt_out_list: str | None = None
    deletion_protection: bool | None = None
    source: Source | None = None


@dataclass(frozen=True)
class SenderIdSpec:
    sender_id: str
    country: str  # ISO 3166-1 alpha-2
    deletion_protection: bool | None = None
    source: Source | None = None

    @property
    def ref(self) -> str:
        return f"{self.sender_id}/{self.country}"


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


@dataclass(frozen=True)
class OptOutListSpec:
    name: str
    mode: Literal["additive", "exact"] = "additive"
    # Sorted, de-duplicated E.164 numbers (inline and from numbers_file together).
    numbers: tuple[str, ...] = ()
    numbers_file: str | None = None
    source: Source | None = None


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


@dataclass(frozen=True)
class Desired:
    """The policy for one target."""

    target: Target
    phone_numbers: tuple[PhoneNumberSpec, ...] = ()
    pools: tuple[PoolSpec, ...] = ()
    sender_ids: tuple[SenderIdSpec, ...] = ()
    configuration_sets: tuple[ConfigurationSetSpec, ...] = ()
    protect_configurations: tuple[ProtectConfigurationSpec, ...] = ()
    emergency_blocks: tuple[EmergencyBlock, ...] = ()
    opt_out_lists: tuple[OptOutListSpec, ...] = ()
    shares: tuple[ShareSpec, ...] = ()
    # Areas whose unmanaged live resources may be deleted (policy `prune: [area, …]`).
    prune: frozenset[str] = frozenset()
    # The organization the targets belong to (organization ARN), for the external-principal check.
    organization_arn: str | None = None
    # Accounts the policy declares as organization members (policy `organization.accounts`);
    # target accounts are members too. Share principals outside need allow_external_principals.
    organization_accounts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Policy:
    """Every target and the desired state for each."""

    config_dir: str
    targets: dict[str, Target]
    desired: dict[str, Desired]  # by target name
