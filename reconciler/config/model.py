"""The validated, typed policy: what the engine reconciles live state towards.

Produced by ``reconciler.config.load_policy`` (loader -> schema -> semantic checks); consumed by
the policy areas in ``reconciler.areas``. Everything here is plain data: no AWS, no I/O.
Every item carries the :class:`Source` of its YAML mapping so plans and errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the section types of each area, for the typed fields of Desired
    from reconciler.areas.opt_outs.spec import OptOutListSpec
    from reconciler.areas.phone_numbers.spec import PhoneNumberSpec, PoolSpec, SenderIdSpec
    from reconciler.areas.protect.spec import ConfigurationSetSpec, EmergencyBlock, ProtectConfigurationSpec
    from reconciler.areas.resource_policies.spec import ResourcePolicySpec
    from reconciler.areas.shares.spec import ShareSpec


@dataclass(frozen=True)
class Source:
    file: str  # path relative to the config directory's parent, as the user would type it
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# "By default you can have up to 25 protect configurations in your AWS account" (user guide, "Create
# a protect configuration in AWS End User Messaging SMS"), per Region ("Quotas for AWS End User
# Messaging SMS"). No default number-override quota is published.
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
    resource_policies: tuple[ResourcePolicySpec, ...] = ()
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


def __getattr__(name: str) -> object:
    """Compatibility for code written before the section types moved into their areas' packages
    (``reconciler/areas/<area>/spec.py``): ``from reconciler.config.model import X`` finds ``X`` in
    whichever area's spec module defines it. New code imports from the area."""
    if name.startswith("__"):  # the import system's probes (__path__, …)
        raise AttributeError(name)
    import importlib
    import importlib.util
    import pkgutil

    import reconciler.areas as areas

    for info in pkgutil.iter_modules(areas.__path__):
        module = f"{areas.__name__}.{info.name}.spec"
        if info.ispkg and importlib.util.find_spec(module) is not None:
            spec = importlib.import_module(module)
            if name in vars(spec):
                return vars(spec)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
