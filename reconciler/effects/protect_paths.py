"""Which protect status a message meets on each send path of a target (pure, no AWS).

A *send path* is a way a message can be sent, each resolved to the protect configuration AWS
applies to it. AWS's user guide ("Change a protection configuration association",
``sms-voice/latest/userguide/protect-configuration-edit-association.html``) states the order:

1. ``ProtectConfigurationId`` in the send request, if given;
2. else the configuration set's protect configuration, if the request names a set that has one;
3. else the account default protect configuration.

So the paths of a target are: *no configuration set* (the account default), *each configuration
set* (its own configuration, else the account default) and *each protect configuration named in
the request* (any configuration can be named, managed or not). A path that resolves to no
configuration is unprotected: every country is reachable.

Within a configuration, a phone number override decides before the country rule (user guide,
"How phone number override rules are processed", ``sms-voice/latest/userguide/
protect-rule-override-rules-processing.html``: "The phone number override always takes precedent
over the country rule mode"), until its ``ExpirationTimestamp``. Countries missing from a rule
set that was read are ``ALLOW``, as on a new configuration.

The model reads only what is handed to it: a capability whose rule set was not read is
``UNKNOWN``, never assumed to block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

NO_PROTECTION = "NO-PROTECT-CONFIGURATION"  # the path has no protect configuration at all
UNKNOWN = "UNKNOWN"  # the capability's rule set was not read
BLOCK = "BLOCK"

PathKind = Literal["no-configuration-set", "configuration-set", "request"]


class ConfigurationView(Protocol):
    """What the model needs of one live protect configuration."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def account_default(self) -> bool: ...
    @property
    def rules(self) -> Mapping[str, Mapping[str, str]]: ...  # capability -> country -> status (as read)
    @property
    def overrides(self) -> Mapping[str, Mapping[str, Any]] | None: ...  # number -> {"action", "expires"}


class ProtectState(Protocol):
    @property
    def configurations(self) -> Sequence[ConfigurationView]: ...
    @property
    def configuration_sets(self) -> Mapping[str, str | None]: ...  # set name -> protect configuration id


@dataclass(frozen=True)
class SendPath:
    kind: PathKind
    name: str  # the configuration set's name, the requested configuration's id, "" for no set
    configuration: str | None  # id of the protect configuration AWS applies; None: none

    def describe(self, labels: Mapping[str, str] | None = None) -> str:
        labels = labels or {}
        what = labels.get(self.configuration, self.configuration) if self.configuration else None
        applies = f"protect configuration {what}" if what else "no protect configuration"
        if self.kind == "no-configuration-set":
            return f"sends without a configuration set ({applies}: the account default)"
        if self.kind == "configuration-set":
            return f"configuration set {self.name} ({applies})"
        return f"sends naming protect configuration {labels.get(self.name, self.name)} in the request"


def account_default(state: ProtectState) -> str | None:
    return next((c.id for c in state.configurations if c.account_default), None)


def send_paths(state: ProtectState) -> list[SendPath]:
    """Every send path of the target, resolved by AWS's precedence (see the module docstring)."""
    default = account_default(state)
    paths = [SendPath("no-configuration-set", "", default)]
    for name, own in sorted(state.configuration_sets.items()):
        paths.append(SendPath("configuration-set", name, own or default))
    for config in sorted(state.configurations, key=lambda c: c.id):
        paths.append(SendPath("request", config.id, config.id))
    return paths


def _configuration(state: ProtectState, config_id: str) -> ConfigurationView | None:
    return next((c for c in state.configurations if c.id == config_id), None)


def country_status(state: ProtectState, path: SendPath, capability: str, country: str) -> str:
    """The country rule a message of ``capability`` to ``country`` meets on ``path``."""
    config = _configuration(state, path.configuration) if path.configuration else None
    if config is None:
        return NO_PROTECTION
    rules = config.rules.get(capability)
    if rules is None:
        return UNKNOWN
    return rules.get(country, "ALLOW")


def _expired(expires: Any, now: dt.datetime) -> bool:
    if not expires:
        return False
    moment = expires if isinstance(expires, dt.datetime) else dt.datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment <= now


def number_status(
    state: ProtectState, path: SendPath, capability: str, number: str, country: str, now: dt.datetime
) -> str:
    """The status a message to ``number`` meets: a live number override first, then the country rule.
    ``UNKNOWN`` when the country rule allows but the configuration's overrides were not read."""
    config = _configuration(state, path.configuration) if path.configuration else None
    if config is None:
        return NO_PROTECTION
    if config.overrides is not None:
        override = config.overrides.get(number)
        if override is not None and not _expired(override.get("expires"), now):
            return str(override["action"])
    status = country_status(state, path, capability, country)
    return UNKNOWN if config.overrides is None and status == BLOCK else status


def effects(state: ProtectState, capabilities: Iterable[str], countries: Iterable[str]) -> dict[tuple[SendPath, str, str], str]:
    """(path, capability, country) -> effective country status, for every path of the target."""
    caps, places = sorted(set(capabilities)), sorted(set(countries))
    return {
        (path, cap, country): country_status(state, path, cap, country)
        for path in send_paths(state)
        for cap in caps
        for country in places
    }


@dataclass(frozen=True)
class RequiredBlock:
    """A block the policy declares: on every path (``configuration`` None: an emergency block), or
    on the paths that resolve to one protect configuration (a BLOCK rule of that configuration)."""

    capability: str
    country: str
    why: str
    configuration: str | None = None


@dataclass(frozen=True)
class Gap:
    """A declared block not in force on a path."""

    path: SendPath
    block: RequiredBlock
    status: str

    def describe(self, labels: Mapping[str, str] | None = None) -> str:
        found = "no protect configuration applies" if self.status == NO_PROTECTION else f"the status is {self.status}"
        return (f"{self.block.why}: {self.block.capability} to {self.block.country} is not blocked on "
                f"{self.path.describe(labels)}: {found}")


def gaps(state: ProtectState, required: Iterable[RequiredBlock]) -> list[Gap]:
    """Every (declared block, path) where the block is not in force."""
    paths = send_paths(state)
    by_configuration: dict[str | None, list[SendPath]] = {}
    for path in paths:
        by_configuration.setdefault(path.configuration, []).append(path)
    configs = {c.id: c for c in state.configurations}

    def status(config_id: str | None, capability: str, country: str) -> str:
        config = configs.get(config_id) if config_id else None
        if config is None:
            return NO_PROTECTION
        rules = config.rules.get(capability)
        return UNKNOWN if rules is None else rules.get(country, "ALLOW")

    found: list[Gap] = []
    for block in required:
        where = [block.configuration] if block.configuration is not None else list(by_configuration)
        for config_id in where:
            now = status(config_id, block.capability, block.country)
            if now != BLOCK:
                found.extend(Gap(path, block, now) for path in by_configuration.get(config_id, []))
    return found


def labels(state: ProtectState) -> dict[str, str]:
    """Configuration id -> how reports name it (its Name tag and id, or its id)."""
    return {c.id: (c.label if c.label == c.id else f"{c.label} ({c.id})") for c in state.configurations}


__all__ = [
    "BLOCK",
    "NO_PROTECTION",
    "UNKNOWN",
    "Gap",
    "RequiredBlock",
    "SendPath",
    "account_default",
    "country_status",
    "effects",
    "gaps",
    "labels",
    "number_status",
    "send_paths",
]
