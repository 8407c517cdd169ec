"""Protect configurations: country rules per capability, emergency blocks, account default,
deletion protection, configuration-set associations and number overrides.

Ownership: the API has no names, so a configuration is found by its ``Name`` tag; the ones the
reconciler created carry ``managed-by: sms-policy-reconciler``. Configurations the policy names
are managed, but are not re-tagged: adopting one is not a change, so a policy written by
``reconciler import`` plans to zero changes. Owned (tagged) configurations the policy no longer
names are deleted; configurations neither named nor owned (including adopted ones once the policy
stops naming them) are reported as unmanaged and deleted only when ``prune`` lists ``protect`` —
the reconciler deletes only what it created or was told to prune.

Country rules: AWS returns the full country map of a capability; the policy's compact form is a
default plus exceptions. Only the capabilities the policy lists are managed, plus the
capabilities of emergency blocks, which override every other status. On a capability the policy
does not list, the status a country had before an emergency block is recorded in the
``reconciler:emergency-blocks`` tag (written before the block), so lifting the block restores it
instead of leaving the country blocked forever. Changes to a capability
are one batched ``UpdateProtectConfigurationCountryRuleSet`` (at most 300 countries, more than
AWS has); the countries that become BLOCK form a separate change in the block phase.
"""

from __future__ import annotations

import datetime as dt
import queue
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from botocore.exceptions import ClientError

from reconciler.areas.base import ApiOperation, Area, register, sms
from reconciler.areas.protect import quotas as protect_quotas
from reconciler.areas.protect.policy import SECTION
from reconciler.areas.protect.render import REPORT
from reconciler.areas.protect.spec import Capability, CapabilityRules, ProtectConfigurationSpec, ProtectStatus
from reconciler.aws import SMS_VOICE, Api, error_code
from reconciler.cli import UserError
from reconciler.config.model import Desired
from reconciler.countries import SUPPORTED
from reconciler.effects.protect_paths import NO_PROTECTION, RequiredBlock, account_default, gaps, labels
from reconciler.milestone import Milestone
from reconciler.plan import (
    FLAG_ACCOUNT_DEFAULT,
    FLAG_BLOCKED,
    FLAG_BLOCKS_COUNTRY,
    FLAG_DELETION_PROTECTION_OFF,
    FLAG_NEEDS_FORCE,
    FLAG_OPENS_COUNTRY,
    ORDER_ASSOCIATE,
    ORDER_CREATE,
    ORDER_DELETE,
    ORDER_DISASSOCIATE,
    ORDER_MEMBERS_ADD,
    ORDER_MEMBERS_REMOVE,
    ORDER_UPDATE,
    PHASE_BLOCKS,
    PHASE_MAIN,
    Change,
)
from reconciler.report.mask import unique_masks


class AmbiguousProtect(UserError):
    """Live protect configurations the policy cannot tell apart: nothing is planned or changed."""


class MissingAccountDefault(UserError):
    """Emergency blocks with a send path no protect configuration covers."""


NAME_TAG = "Name"
MANAGED_BY_TAG = "managed-by"
MANAGED_BY_VALUE = "sms-policy-reconciler"
RECORD_TAG = "reconciler:emergency-blocks"
RECORD_TAG_MAX = 256  # AWS tag value limit: longer records spread over RECORD_TAG-2, -3, …
_CODES = {"ALLOW": "A", "BLOCK": "B", "MONITOR": "M", "FILTER": "F"}
_STATUSES = {code: status for status, code in _CODES.items()}
MAX_RULES_PER_CALL = 300  # ProtectConfigurationCountryRuleSet map size limit in the service model
PAGE = 100


@dataclass
class LiveProtectConfiguration:
    id: str
    arn: str
    tags: dict[str, str]
    account_default: bool
    deletion_protection: bool
    # capability -> full country map; only the capabilities the policy needs are read.
    rules: dict[str, dict[str, str]] = field(default_factory=dict)
    # destination number -> {"action", "expires"}; None when not read (not a managed configuration).
    overrides: dict[str, dict[str, Any]] | None = None

    @property
    def name(self) -> str | None:
        return self.tags.get(NAME_TAG)

    @property
    def owned(self) -> bool:
        return self.tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass
class ProtectLive:
    configurations: list[LiveProtectConfiguration] = field(default_factory=list)  # sorted by id
    # every configuration set -> its protect configuration id (None: none)
    configuration_sets: dict[str, str | None] = field(default_factory=dict)


def iso(value: Any) -> str | None:
    """Timestamps compared as UTC ISO 8601 to the second (``2026-12-31T00:00:00Z``)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Record = dict[tuple[str, str], str]  # (capability, country) -> status before the emergency block


def parse_record(value: str | None) -> Record:
    """``"MMS:AU:A RCS:AU:M"`` -> {("MMS", "AU"): "ALLOW", ("RCS", "AU"): "MONITOR"}; junk is ignored."""
    record: Record = {}
    for entry in (value or "").split():
        parts = entry.split(":")
        if len(parts) == 3 and parts[2] in _STATUSES:
            record[(parts[0], parts[1])] = _STATUSES[parts[2]]
    return record


def encode_record(record: Record) -> str:
    return " ".join(f"{cap}:{country}:{_CODES[status]}" for (cap, country), status in sorted(record.items()))


def record_of(tags: dict[str, str]) -> Record:
    """The record spread over ``reconciler:emergency-blocks``, ``…-2``, ``…-3`` (one tag holds 256 characters)."""
    return parse_record(" ".join(v for k, v in sorted(tags.items()) if k == RECORD_TAG or k.startswith(RECORD_TAG + "-")))


def record_tags(value: str) -> dict[str, str]:
    """Split an encoded record into tag values of at most RECORD_TAG_MAX characters."""
    chunks: list[str] = []
    for entry in value.split():
        if chunks and len(chunks[-1]) + 1 + len(entry) <= RECORD_TAG_MAX:
            chunks[-1] += " " + entry
        else:
            chunks.append(entry)
    return {(RECORD_TAG if i == 0 else f"{RECORD_TAG}-{i + 1}"): chunk for i, chunk in enumerate(chunks)}


def emergency_countries(desired: Desired, capability: str) -> set[str]:
    return {b.country for b in desired.emergency_blocks if capability in b.capabilities and b.country in SUPPORTED}


def managed_capabilities(desired: Desired, spec: ProtectConfigurationSpec, record: Record | None = None) -> list[str]:
    caps: set[str] = set(spec.rules)
    for block in desired.emergency_blocks:
        caps.update(block.capabilities)
    caps.update(cap for cap, _ in (record or {}))
    return sorted(caps)


def wanted_rules(
    desired: Desired, spec: ProtectConfigurationSpec, capability: str, live: dict[str, str], record: Record | None = None
) -> dict[str, str]:
    """The full country map the policy wants for one capability."""
    rules = spec.rules.get(capability)  # type: ignore[call-overload]
    record = record or {}
    want: dict[str, str] = {}
    for country in sorted(SUPPORTED):
        if rules is not None:
            status: str = rules.status(country)
        else:
            # Unlisted capability: leave it, except undo emergency blocks that were lifted.
            status = record.get((capability, country), live.get(country, "ALLOW"))
        want[country] = status
    for country in emergency_countries(desired, capability):
        want[country] = "BLOCK"
    return want


def wanted_record(desired: Desired, spec: ProtectConfigurationSpec, rules: dict[str, dict[str, str]], record: Record) -> Record:
    """Emergency blocks on capabilities the policy does not list, with the status to restore."""
    wanted: Record = {}
    for block in desired.emergency_blocks:
        for capability in block.capabilities:
            if capability in spec.rules or block.country not in SUPPORTED:
                continue
            key = (capability, block.country)
            prior = record.get(key, rules.get(capability, {}).get(block.country, "ALLOW"))
            if prior != "BLOCK":
                wanted[key] = prior
    return wanted


def emergency_spec(desired: Desired, config: LiveProtectConfiguration) -> ProtectConfigurationSpec | None:
    """What the policy manages on a configuration it does not name: only the emergency blocks
    (and restoring the statuses its record holds once they are lifted), addressed by id."""
    if not desired.emergency_blocks and not record_of(config.tags):
        return None
    return ProtectConfigurationSpec(config.id, rules={})


def wanted_configuration_sets(desired: Desired, spec: ProtectConfigurationSpec) -> set[str]:
    names = set(spec.configuration_sets)
    names.update(cs.name for cs in desired.configuration_sets if cs.protect_configuration == spec.name)
    return names


def _countries(countries: list[str], limit: int = 8) -> str:
    shown = ", ".join(countries[:limit])
    return shown + (f" and {len(countries) - limit} more" if len(countries) > limit else "")


@register
class ProtectArea(Area):
    section = SECTION
    resource_types = frozenset({"account-default", "configuration-set-association", "country-rules", "emergency-record", "number-override", "protect-configuration"})
    report = REPORT
    name = "protect"
    block_phase = True
    read_order = 10
    operations: ClassVar[tuple[ApiOperation, ...]] = (
        sms("DescribeProtectConfigurations"),
        sms("ListTagsForResource"),
        sms("GetProtectConfigurationCountryRuleSet"),
        sms("ListProtectConfigurationRuleSetNumberOverrides"),
        sms("DescribeConfigurationSets"),
        sms("CreateProtectConfiguration", mode="write"),
        sms("UpdateProtectConfiguration", mode="write"),
        sms("UpdateProtectConfigurationCountryRuleSet", mode="write"),
        sms("TagResource", mode="write"),
        sms("UntagResource", mode="write"),
        sms("SetAccountDefaultProtectConfiguration", mode="write"),
        sms("DeleteAccountDefaultProtectConfiguration", mode="write"),
        sms("AssociateProtectConfiguration", mode="write"),
        sms("DisassociateProtectConfiguration", mode="write"),
        sms("PutProtectConfigurationRuleSetNumberOverride", mode="write"),
        sms("DeleteProtectConfigurationRuleSetNumberOverride", mode="write"),
        sms("DeleteProtectConfiguration", mode="write"),
    )

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}  # label -> id (from read, and from creates during apply)
        self._arns: dict[str, str] = {}
        self._tags: dict[str, dict[str, str]] = {}  # label -> tags as read (and as written by this run)
        # Every Name tag read: ListTagsForResource is free for the other areas' reads.
        self.shared_reads_done: Milestone = Milestone()

    # Reading --------------------------------------------------------------------------------------

    def read(self, api: Api, desired: Desired) -> ProtectLive:
        specs = {spec.name: spec for spec in desired.protect_configurations}

        def spec_for(config: LiveProtectConfiguration) -> ProtectConfigurationSpec | None:
            named = specs.get(config.name) if config.name is not None else None
            # Emergency blocks are account-wide: every other configuration's emergency
            # capabilities (and those its record says to restore) are read too.
            return named or emergency_spec(desired, config)

        try:
            live = self._read(api, desired, spec_for)
        finally:  # also after an error: apply's other reads wait for this
            self.shared_reads_done.reach(api.clock())
        for config in live.configurations:
            self._remember(config, config.label)
        return live

    def _remember(self, config: LiveProtectConfiguration, label: str) -> None:
        """Where ``apply`` finds a configuration a change names: by label (unique ones) and by id."""
        for key in dict.fromkeys((label, config.id)):
            self._ids[key] = config.id
            self._arns[key] = config.arn
            self._tags[key] = dict(config.tags)

    def read_everything(self, api: Api, rules: dict[Capability, CapabilityRules], desired: Desired) -> ProtectLive:
        """Every configuration with its tags, and every named one with its overrides and the rule
        sets of ``rules`` (for ``import``: one pass, the Name tags read once)."""
        return self._read(
            api, desired, lambda config: ProtectConfigurationSpec(config.name, rules=dict(rules)) if config.name else None
        )

    def _read(
        self, api: Api, desired: Desired, spec_for: Callable[[LiveProtectConfiguration], ProtectConfigurationSpec | None]
    ) -> ProtectLive:
        """List the configurations, then read their tags, rule sets and overrides as three
        concurrent streams (each operation has its own 1/s quota): a configuration's rule sets and
        overrides are read as soon as its Name tag shows the policy names it, so the read takes
        about as long as the rule sets alone rather than tags + rule sets + overrides."""
        live = ProtectLive()
        for page in api.pages(SMS_VOICE, "DescribeProtectConfigurations", MaxResults=PAGE):
            for item in page.get("ProtectConfigurations", []):
                live.configurations.append(
                    LiveProtectConfiguration(
                        id=item["ProtectConfigurationId"],
                        arn=item["ProtectConfigurationArn"],
                        tags={},
                        account_default=bool(item.get("AccountDefault")),
                        deletion_protection=bool(item.get("DeletionProtectionEnabled")),
                    )
                )
        live.configurations.sort(key=lambda c: c.id)
        Named = tuple[LiveProtectConfiguration, ProtectConfigurationSpec, float] | None
        to_rules: queue.Queue[Named] = queue.Queue()
        to_overrides: queue.Queue[Named] = queue.Queue()
        # In a streaming apply (blocks written as they become known) the reads blocks depend on come
        # first: a configuration's overrides are read with its rule sets only when the policy gives
        # it a BLOCK override, the others' once every rule set is read.
        streaming = self.early_changes is not None
        later: list[Named] = []

        def rules_then_later_overrides() -> None:
            try:
                consume(to_rules, read_rules_then_report)
            finally:  # also after an error: the overrides reader must learn that nothing more comes
                if streaming:
                    now = api.clock()  # on a simulated clock: not before the last rule set was read
                    for config, spec, _ in [item for item in later if item is not None]:
                        to_overrides.put((config, spec, now))
                    to_overrides.put(None)

        def read_tags() -> None:
            try:
                for config in live.configurations:
                    tags = api.call(SMS_VOICE, "ListTagsForResource", ResourceArn=config.arn)
                    config.tags = {t["Key"]: t["Value"] for t in tags.get("Tags", [])}
                    # Known as soon as read: an early block (below) is written before the read ends.
                    for key in (config.label, config.id):
                        self._ids.setdefault(key, config.id)
                        self._arns.setdefault(key, config.arn)
                        self._tags.setdefault(key, dict(config.tags))
                    spec = spec_for(config)
                    if spec is not None:
                        ready = (config, spec, api.clock())
                        to_rules.put(ready)
                        emergency_only = spec.name == config.id and config.name != config.id  # overrides not managed
                        if streaming and not emergency_only and not any(o.action == "BLOCK" for o in spec.number_overrides):
                            later.append(ready)  # its overrides cannot hold a block: read after the rules
                        elif not emergency_only:
                            to_overrides.put(ready)
            finally:  # the consumers always learn that nothing more comes, even after an error
                to_rules.put(None)
                if not streaming:
                    to_overrides.put(None)
                self.shared_reads_done.reach(api.clock())  # the last ListTagsForResource of this read

        def consume(source: queue.Queue[Named], read_one: Callable[[LiveProtectConfiguration, ProtectConfigurationSpec], None]) -> None:
            while (item := source.get()) is not None:
                config, spec, ready_at = item
                api.wait_until(ready_at)  # not before the tag was read
                read_one(config, spec)

        def read_rules_then_report(config: LiveProtectConfiguration, spec: ProtectConfigurationSpec) -> None:
            read_rules(config, spec)
            if self.early_changes is not None:
                self.early_changes(self._early_blocks(desired, live, config, spec))

        def read_rules(config: LiveProtectConfiguration, spec: ProtectConfigurationSpec) -> None:
            for capability in managed_capabilities(desired, spec, record_of(config.tags)):
                answer = api.call(
                    SMS_VOICE,
                    "GetProtectConfigurationCountryRuleSet",
                    ProtectConfigurationId=config.id,
                    NumberCapability=capability,
                )
                config.rules[capability] = {
                    country: rule["ProtectStatus"] for country, rule in sorted(answer.get("CountryRuleSet", {}).items())
                }

        def read_overrides(config: LiveProtectConfiguration, spec: ProtectConfigurationSpec) -> None:
            overrides: dict[str, dict[str, Any]] = {}
            for page in api.pages(
                SMS_VOICE, "ListProtectConfigurationRuleSetNumberOverrides", ProtectConfigurationId=config.id, MaxResults=PAGE
            ):
                for override in page.get("RuleSetNumberOverrides", []):
                    overrides[override["DestinationPhoneNumber"]] = {
                        "action": override["Action"],
                        "expires": iso(override.get("ExpirationTimestamp")),
                    }
            config.overrides = overrides

        def read_sets() -> None:
            if live.configurations or desired.configuration_sets or desired.protect_configurations or desired.emergency_blocks:
                for page in api.pages(SMS_VOICE, "DescribeConfigurationSets", MaxResults=PAGE):
                    for item in page.get("ConfigurationSets", []):
                        live.configuration_sets[item["ConfigurationSetName"]] = item.get("ProtectConfigurationId") or None

        api.parallel([
            read_tags,
            rules_then_later_overrides,
            lambda: consume(to_overrides, read_overrides),
            read_sets,
        ])
        return live

    @staticmethod
    def _match(desired: Desired, live: ProtectLive) -> tuple[dict[str, LiveProtectConfiguration], list[str]]:
        """Policy name -> live configuration; ambiguous names (two live configurations) are skipped."""
        by_name: dict[str, list[LiveProtectConfiguration]] = {}
        for config in live.configurations:
            if config.name is not None:
                by_name.setdefault(config.name, []).append(config)
        matches: dict[str, LiveProtectConfiguration] = {}
        problems: list[str] = []
        for spec in desired.protect_configurations:
            # Two configurations with one Name are ambiguous even when one carries managed-by: a
            # console copy of a managed configuration is exactly where a block would go missing.
            candidates = by_name.get(spec.name, [])
            if len(candidates) == 1:
                matches[spec.name] = candidates[0]
            elif len(candidates) > 1:
                ids = ", ".join(c.id for c in candidates)
                problems.append(
                    f"{len(candidates)} protect configurations carry Name={spec.name} ({ids}), so which one the "
                    f"policy's {spec.name} is cannot be told; fix: delete the stray one or change its Name tag "
                    "(aws pinpoint-sms-voice-v2 tag-resource --resource-arn ARN --tags Key=Name,Value=OTHER)"
                )
        by_id = {c.id: c for c in live.configurations}
        for spec in desired.protect_configurations:
            other = by_id.get(spec.name)
            if other is not None and other.name != spec.name:
                problems.append(
                    f"the policy's protect configuration {spec.name} has the id of live configuration {other.id}"
                    + (f" (Name={other.name})" if other.name else " (no Name tag)")
                    + f", but configurations are named by their Name tag; fix: rename {spec.name} in the policy, "
                    f"or tag {other.id} with Name={spec.name} to adopt it"
                )
        return matches, problems

    def ambiguities(self, desired: Desired, live: ProtectLive) -> list[str]:
        """Everything that makes "which live configuration is this" unclear (an error, never a warning)."""
        return sorted(self._match(desired, live)[1])

    # Diffing --------------------------------------------------------------------------------------

    def diff(self, desired: Desired, live: ProtectLive) -> list[Change]:
        matches, problems = self._match(desired, live)
        if problems:
            raise AmbiguousProtect(
                "protect: which live protect configuration the policy means is unclear; nothing is planned:\n"
                + "\n".join(f"  - {p}" for p in sorted(problems)),
                hint="fix the live configurations or the policy as each line says, then plan again",
            )
        changes: list[Change] = []
        wants_default = [spec.name for spec in desired.protect_configurations if spec.account_default]
        for spec in sorted(desired.protect_configurations, key=lambda s: s.name):
            changes.extend(self._diff_one(desired, live, spec, matches.get(spec.name), bool(wants_default)))
        managed = {id(config) for config in matches.values()}
        for config in live.configurations:
            if id(config) in managed:
                continue
            # Emergency blocks are account-wide: also on configurations the policy does not manage.
            emergency = emergency_spec(desired, config)
            if emergency is not None:
                changes.extend(self._rules_and_record(desired, emergency, config, unmanaged=True))
            if config.owned or "protect" in desired.prune:
                changes.extend(self._delete_steps(live, config, bool(wants_default)))
        self._require_default(desired, live, changes, bool(wants_default))
        overrides = {c.name: len(c.overrides) for c in live.configurations if c.name and c.overrides is not None}
        return protect_quotas.enforce(desired, len(live.configurations), overrides, changes)

    @staticmethod
    def _require_default(desired: Desired, live: ProtectLive, changes: list[Change], declared: bool) -> None:
        """Emergency blocks need an account default: without one, sends without a configuration set
        (and sets without a protect configuration) meet no protect configuration at all."""
        if not desired.emergency_blocks or declared:
            return
        removed = any(c.resource_type == "account-default" and c.action == "disassociate" for c in changes)
        if account_default(live) is not None and not removed:
            return
        bare = sorted(cs for cs, pid in live.configuration_sets.items() if pid is None)
        blocked = ", ".join(sorted({b.country for b in desired.emergency_blocks}))
        paths = "sends without a configuration set" + (f" and configuration sets {', '.join(bare)}" if bare else "")
        first = next((b.source for b in desired.emergency_blocks if b.source is not None), None)
        raise MissingAccountDefault(
            f"protect: the emergency blocks ({blocked}) cannot take effect on {paths}: the account will have no "
            "default protect configuration, so no protect configuration applies to them"
            + (f" (first block at {first})" if first else ""),
            hint="declare an account default in protect.yaml (a protect configuration with `account_default: true`; "
                 "it is created if it does not exist)",
        )

    def _diff_one(
        self,
        desired: Desired,
        live: ProtectLive,
        spec: ProtectConfigurationSpec,
        config: LiveProtectConfiguration | None,
        any_default: bool,
    ) -> list[Change]:
        name = spec.name
        base = f"protect/{name}"
        changes: list[Change] = []
        rule_changes: list[Change] = []
        rule_changes = self._rules_and_record(desired, spec, config)
        override_changes = self._override_changes(base, spec, config)
        if config is None:
            # Created in the block phase when a block (rule or BLOCK override) waits for it.
            blocks = any(change.phase == PHASE_BLOCKS for change in (*rule_changes, *override_changes))
            changes.append(
                Change(
                    area=self.name,
                    action="create",
                    resource_type="protect-configuration",
                    key=f"{base}",
                    after={"name": name, "deletion_protection": bool(spec.deletion_protection)},
                    phase=PHASE_BLOCKS if blocks else PHASE_MAIN,
                    order=ORDER_CREATE,
                    data={"name": name, "deletion_protection": bool(spec.deletion_protection)},
                    summary=f"create protect configuration {name}",
                )
            )
        else:
            if spec.deletion_protection is not None and spec.deletion_protection != config.deletion_protection:
                changes.append(self._deletion_protection(base, name, config.deletion_protection, spec.deletion_protection))
        changes.extend(rule_changes)
        # Account default: Set replaces any current default, so only a policy without any default
        # removes the flag (and only from a configuration it manages).
        is_default = config is not None and config.account_default
        if spec.account_default and not is_default:
            changes.append(
                Change(
                    area=self.name,
                    action="associate",
                    resource_type="account-default",
                    key=f"{base}/account-default",
                    before=self._current_default(live),
                    after=name,
                    order=ORDER_ASSOCIATE,
                    flags=frozenset({FLAG_ACCOUNT_DEFAULT}),
                    data={"name": name},
                    summary=f"make {name} the account default protect configuration",
                )
            )
        elif not spec.account_default and is_default and not any_default:
            changes.append(self._remove_default(base, name))
        changes.extend(self._configuration_set_changes(desired, live, spec, config))
        changes.extend(override_changes)
        return changes

    def _rules_and_record(
        self, desired: Desired, spec: ProtectConfigurationSpec, config: LiveProtectConfiguration | None,
        unmanaged: bool = False,
    ) -> list[Change]:
        """Country-rule changes of one configuration, and the emergency record they need
        (``unmanaged``: a configuration the policy does not name, addressed by id: emergency only)."""
        base, name = f"protect/{spec.name}", spec.name
        record = record_of(config.tags) if config is not None else {}
        live_rules = config.rules if config is not None else {}
        changes: list[Change] = []
        for capability in managed_capabilities(desired, spec, record):
            current = live_rules.get(capability, {})
            want = wanted_rules(desired, spec, capability, current, record)
            reasons = {
                b.country: b.reason for b in desired.emergency_blocks if capability in b.capabilities and b.reason
            }
            changes.extend(self._rule_changes(base, name, capability, current, want, reasons))
        changes.extend(self._record_changes(base, name, record, wanted_record(desired, spec, live_rules, record)))
        if unmanaged and config is not None:
            shown = f"unmanaged protect configuration {config.label}" + (f" ({config.id})" if config.name else "")
            changes = [replace(c, summary=c.summary.replace(name, shown) if name in c.summary else f"{c.summary} on {shown}")
                       for c in changes]
        return changes

    def _early_blocks(self, desired: Desired, live: ProtectLive, config: LiveProtectConfiguration,
                      spec: ProtectConfigurationSpec) -> list[Change]:
        """The block-phase changes of one configuration whose rule sets were just read.

        Nothing while another configuration read so far carries the same name (the full diff then
        skips the name as ambiguous); a duplicate whose tags are read later cannot undo a block
        already written, which is the protective direction."""
        if spec.name == config.id and config.name != config.id:  # not named by the policy: emergency only
            changes = self._rules_and_record(desired, spec, config, unmanaged=True)
        elif sum(1 for other in live.configurations if other.name == spec.name) != 1:
            # Another configuration carries the name (the full diff refuses to go on): its
            # emergency blocks are still written, by id, which is the protective direction.
            emergency = emergency_spec(desired, config)
            changes = self._rules_and_record(desired, emergency, config, unmanaged=True) if emergency else []
        else:
            changes = self._rules_and_record(desired, spec, config)
        return [c for c in changes if c.phase == PHASE_BLOCKS]

    def _rule_changes(
        self,
        base: str,
        name: str,
        capability: str,
        current: dict[str, str],
        want: dict[str, str],
        reasons: dict[str, str] | None = None,
    ) -> list[Change]:
        """``reasons``: the emergency blocks' reasons by country, shown to reviewers beside the block."""
        changed = {c: (current.get(c, "ALLOW"), s) for c, s in want.items() if current.get(c, "ALLOW") != s}
        blocks = {c: v for c, v in changed.items() if v[1] == "BLOCK"}
        others = {c: v for c, v in changed.items() if v[1] != "BLOCK"}
        changes = []
        if blocks:
            countries = sorted(blocks)
            why = {c: reasons[c] for c in countries if reasons and c in reasons}
            changes.append(
                Change(
                    area=self.name,
                    action="update",
                    resource_type="country-rules",
                    key=f"{base}/rules/{capability}/block",
                    before={c: blocks[c][0] for c in countries},
                    after={c: "BLOCK" for c in countries},
                    phase=PHASE_BLOCKS,
                    order=ORDER_UPDATE,
                    flags=frozenset({FLAG_BLOCKS_COUNTRY}),
                    data={
                        "name": name,
                        "capability": capability,
                        "updates": {c: "BLOCK" for c in countries},
                        **({"reasons": why} if why else {}),
                    },
                    summary=f"block {capability} to {_countries(countries)}",
                )
            )
        if others:
            countries = sorted(others)
            opens = [c for c in countries if others[c][0] == "BLOCK"]
            changes.append(
                Change(
                    area=self.name,
                    action="update",
                    resource_type="country-rules",
                    key=f"{base}/rules/{capability}",
                    before={c: others[c][0] for c in countries},
                    after={c: others[c][1] for c in countries},
                    order=ORDER_UPDATE,
                    flags=frozenset({FLAG_OPENS_COUNTRY}) if opens else frozenset(),
                    data={"name": name, "capability": capability, "updates": {c: others[c][1] for c in countries}},
                    summary=f"set {capability} rules for {_countries(countries)}"
                    + (f" (unblocks {_countries(opens)})" if opens else ""),
                )
            )
        return changes

    def _record_changes(self, base: str, name: str, record: Record, wanted: Record) -> list[Change]:
        """Keep the emergency-block record: grown before the blocks, shrunk after the restores."""
        changes = []
        grown = {**record, **wanted}
        if grown != record:
            changes.append(
                Change(
                    area=self.name,
                    action="update",
                    resource_type="emergency-record",
                    key=f"{base}/emergency-record/add",  # sorts before .../rules/...: written first
                    before=encode_record(record) or None,
                    after=encode_record(grown),
                    phase=PHASE_BLOCKS,
                    order=ORDER_UPDATE,
                    data={"name": name, "value": encode_record(grown)},
                    summary=f"record the statuses to restore when emergency blocks on {name} are lifted",
                )
            )
        if wanted != grown:
            changes.append(
                Change(
                    area=self.name,
                    action="update",
                    resource_type="emergency-record",
                    key=f"{base}/emergency-record",
                    before=encode_record(grown) or None,
                    after=encode_record(wanted) or None,
                    order=ORDER_MEMBERS_ADD,  # after the restoring rule updates
                    data={"name": name, "value": encode_record(wanted)},
                    summary=f"forget restored emergency blocks on {name}",
                )
            )
        return changes

    def _deletion_protection(self, base: str, name: str, before: bool, after: bool) -> Change:
        flags = {FLAG_NEEDS_FORCE, FLAG_DELETION_PROTECTION_OFF} if not after else set()
        return Change(
            area=self.name,
            action="update",
            resource_type="protect-configuration",
            key=f"{base}/deletion-protection",
            before=before,
            after=after,
            order=ORDER_UPDATE,
            flags=frozenset(flags),
            data={"name": name, "enabled": after},
            summary=f"turn deletion protection {'on' if after else 'off'} for {name}",
        )

    def _remove_default(self, base: str, label: str) -> Change:
        return Change(
            area=self.name,
            action="disassociate",
            resource_type="account-default",
            key=f"{base}/account-default",
            before=label,
            after=None,
            order=ORDER_DISASSOCIATE,
            flags=frozenset({FLAG_NEEDS_FORCE, FLAG_ACCOUNT_DEFAULT}),
            data={"name": label},
            summary=f"remove {label} as the account default protect configuration",
        )

    @staticmethod
    def _current_default(live: ProtectLive) -> str | None:
        for config in live.configurations:
            if config.account_default:
                return config.label
        return None

    def _configuration_set_changes(
        self, desired: Desired, live: ProtectLive, spec: ProtectConfigurationSpec, config: LiveProtectConfiguration | None
    ) -> list[Change]:
        want = wanted_configuration_sets(desired, spec)
        have = {cs for cs, pid in live.configuration_sets.items() if config is not None and pid == config.id}
        labels = {c.id: c.label for c in live.configurations}
        changes = []
        for cs in sorted(want - have):
            if cs not in live.configuration_sets:
                reason = (f"configuration set {cs} does not exist (the reconciler does not create "
                          "configuration sets); create it or remove it from the policy")
                changes.append(self._association(spec.name, cs, "associate", flags=frozenset({FLAG_BLOCKED}),
                                                 reason=reason))
                continue
            other = live.configuration_sets.get(cs)
            changes.append(self._association(spec.name, cs, "associate", before=labels.get(other, other) if other else None,
                                             replaces=other))
        claimed = {cs for s in desired.protect_configurations for cs in wanted_configuration_sets(desired, s)}
        for cs in sorted(have - want):
            if cs in claimed:
                continue  # the association moves to another configuration: its associate step replaces it
            changes.append(self._association(spec.name, cs, "disassociate", before=spec.name))
        return changes

    def _association(self, name: str, cs: str, action: Literal["associate", "disassociate"], before: str | None = None,
                     flags: frozenset[str] = frozenset(), **data: Any) -> Change:
        """Link (or unlink) configuration set ``cs`` and protect configuration ``name``."""
        linking = action == "associate"
        return Change(
            area=self.name,
            action=action,
            resource_type="configuration-set-association",
            key=f"protect/{name}/configuration-set/{cs}",
            before=before,
            after=name if linking else None,
            order=ORDER_ASSOCIATE if linking else ORDER_DISASSOCIATE,
            flags=flags,
            data={"name": name, "configuration_set": cs, **data},
            summary=f"associate configuration set {cs} with {name}" if linking
            else f"disassociate configuration set {cs} from {name}",
        )

    def _override_changes(self, base: str, spec: ProtectConfigurationSpec, config: LiveProtectConfiguration | None) -> list[Change]:
        want = {o.number: {"action": o.action, "expires": iso(o.expires)} for o in spec.number_overrides}
        have = (config.overrides or {}) if config is not None else {}
        labels = unique_masks([*want, *have])
        changes = []
        for number in sorted(set(want) | set(have)):
            label = labels[number]
            key = f"{base}/override/{label}"
            if number in want and want[number] != have.get(number):
                changes.append(
                    Change(
                        area=self.name,
                        action="add" if number not in have else "update",
                        resource_type="number-override",
                        key=key,
                        before=have.get(number),
                        after=want[number],
                        phase=PHASE_BLOCKS if want[number]["action"] == "BLOCK" else PHASE_MAIN,
                        order=ORDER_MEMBERS_ADD,
                        flags=frozenset({FLAG_BLOCKS_COUNTRY}) if want[number]["action"] == "BLOCK" else frozenset(),
                        data={"name": spec.name, **want[number]},
                        secret=number,
                        scope=f"{base}/overrides",
                        summary=f"{str(want[number]['action']).lower()} {label} in {spec.name}",
                    )
                )
            elif number not in want:
                changes.append(
                    Change(
                        area=self.name,
                        action="remove",
                        resource_type="number-override",
                        key=key,
                        before=have[number],
                        order=ORDER_MEMBERS_REMOVE,
                        data={"name": spec.name},
                        secret=number,
                        scope=f"{base}/overrides",
                        summary=f"remove the override for {label} from {spec.name}",
                    )
                )
        return changes

    def _delete_steps(self, live: ProtectLive, config: LiveProtectConfiguration, any_default: bool) -> list[Change]:
        # Keys must be unique: a Name two configurations carry (or another one's id) names neither.
        unique = sum(1 for c in live.configurations if config.label in (c.label, c.id)) == 1
        label = config.label if unique else config.id
        base = f"protect/{label}"
        steps: list[Change] = []
        if config.account_default and not any_default:
            steps.append(self._remove_default(base, label))
        for cs in sorted(cs for cs, pid in live.configuration_sets.items() if pid == config.id):
            steps.append(
                Change(
                    area=self.name,
                    action="disassociate",
                    resource_type="configuration-set-association",
                    key=f"{base}/configuration-set/{cs}",
                    before=label,
                    order=ORDER_DISASSOCIATE,
                    data={"name": label, "configuration_set": cs},
                    summary=f"disassociate configuration set {cs} from {label}",
                )
            )
        if config.deletion_protection:
            steps.append(self._deletion_protection(base, label, True, False))
        steps.append(
            Change(
                area=self.name,
                action="delete",
                resource_type="protect-configuration",
                key=base,
                before={"name": config.name, "id": config.id, "owned": config.owned},
                order=ORDER_DELETE,
                data={"name": label},
                summary=f"delete protect configuration {label} ({config.id})",
            )
        )
        return steps

    # Reporting ------------------------------------------------------------------------------------

    def unmanaged(self, desired: Desired, live: ProtectLive) -> list[dict[str, Any]]:
        if "protect" in desired.prune:
            return []
        named = {spec.name for spec in desired.protect_configurations}
        return [
            {
                "area": self.name,
                "type": "protect-configuration",
                "id": config.id,
                "name": config.name,
                "detail": "account default" if config.account_default else "",
            }
            for config in live.configurations
            if config.name not in named and not config.owned
        ]

    def required_blocks(self, desired: Desired, live: ProtectLive) -> list[RequiredBlock]:
        """The blocks the policy declares: emergency blocks on every path, each managed
        configuration's BLOCK rules on the paths that resolve to it."""
        required = [
            RequiredBlock(capability, block.country, f"emergency block {block.country}" + (f" ({block.reason})" if block.reason else ""))
            for block in desired.emergency_blocks
            for capability in block.capabilities
            if block.country in SUPPORTED
        ]
        matches, _ = self._match(desired, live)
        for spec in desired.protect_configurations:
            config = matches.get(spec.name)
            for capability, rules in sorted(spec.rules.items()):
                for country in sorted(SUPPORTED):
                    if rules.status(country) == "BLOCK":
                        required.append(RequiredBlock(capability, country, f"BLOCK rule of {spec.name}",
                                                      config.id if config is not None else f"(missing) {spec.name}"))
        return required

    def blocks_not_in_force(self, desired: Desired, live: ProtectLive) -> list[str]:
        """Each declared block not in force on a send path, per the effect model
        (reconciler/effects/protect_paths.py), grouped per path and reason."""
        found = gaps(live, self.required_blocks(desired, live))
        names = labels(live)
        grouped: dict[tuple[str, str, str], list[str]] = {}
        for gap in found:
            status = "no protect configuration applies" if gap.status == NO_PROTECTION else f"status {gap.status}"
            grouped.setdefault((gap.path.describe(names), gap.block.why, status), []).append(
                f"{gap.block.capability}:{gap.block.country}")
        return [f"{why}: {_countries(sorted(blocks))} not blocked on {path} ({status})"
                for (path, why, status), blocks in sorted(grouped.items())]

    def scope_sizes(self, desired: Desired, live: ProtectLive) -> dict[str, int]:
        sizes = {self.name: len(live.configurations)}
        for config in live.configurations:
            if config.overrides is not None and config.name:
                sizes[f"protect/{config.name}/overrides"] = len(config.overrides)
        return sizes

    # Applying -------------------------------------------------------------------------------------

    def apply(self, api: Api, change: Change) -> None:
        name = str(change.data.get("name", ""))
        kind = change.resource_type
        if kind == "protect-configuration" and change.action == "create":
            self._create(api, name, bool(change.data.get("deletion_protection")))
        elif kind == "protect-configuration" and change.action == "delete":
            self._ignore_missing(
                lambda: api.call(SMS_VOICE, "DeleteProtectConfiguration", ProtectConfigurationId=self._id(name))
            )
        elif kind == "protect-configuration" and change.key.endswith("/tags"):
            api.call(
                SMS_VOICE,
                "TagResource",
                ResourceArn=self._arns[name],
                Tags=[{"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}],
            )
        elif kind == "protect-configuration":
            api.call(
                SMS_VOICE,
                "UpdateProtectConfiguration",
                ProtectConfigurationId=self._id(name),
                DeletionProtectionEnabled=bool(change.data["enabled"]),
            )
        elif kind == "country-rules":
            updates = sorted(change.data["updates"].items())
            for start in range(0, len(updates), MAX_RULES_PER_CALL):
                chunk = updates[start : start + MAX_RULES_PER_CALL]
                api.call(
                    SMS_VOICE,
                    "UpdateProtectConfigurationCountryRuleSet",
                    ProtectConfigurationId=self._id(name),
                    NumberCapability=change.data["capability"],
                    CountryRuleSetUpdates={country: {"ProtectStatus": status} for country, status in chunk},
                )
        elif kind == "emergency-record":
            self._write_record(api, name, str(change.data["value"]))
        elif kind == "account-default" and change.action == "associate":
            api.call(SMS_VOICE, "SetAccountDefaultProtectConfiguration", ProtectConfigurationId=self._id(name))
        elif kind == "account-default":
            self._ignore_missing(lambda: api.call(SMS_VOICE, "DeleteAccountDefaultProtectConfiguration"))
        elif kind == "configuration-set-association":
            self._apply_association(api, change, name)
        elif kind == "number-override":
            self._apply_override(api, change, name)
        else:
            raise ValueError(f"protect cannot apply {change.action} {kind}")

    def _id(self, label: str) -> str:
        return self._ids[label]

    def _write_record(self, api: Api, name: str, value: str) -> None:
        tags = record_tags(value)
        if tags:
            api.call(
                SMS_VOICE,
                "TagResource",
                ResourceArn=self._arns[name],
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            )
        stale = sorted(k for k in self._tags.get(name, {}) if (k == RECORD_TAG or k.startswith(RECORD_TAG + "-")) and k not in tags)
        if stale:
            api.call(SMS_VOICE, "UntagResource", ResourceArn=self._arns[name], TagKeys=stale)
        self._tags[name] = {**{k: v for k, v in self._tags.get(name, {}).items() if k not in stale}, **tags}

    def _create(self, api: Api, name: str, deletion_protection: bool) -> None:
        if name in self._ids:
            return  # created earlier in this run (a retried step)
        answer = api.call(
            SMS_VOICE,
            "CreateProtectConfiguration",
            ClientToken=str(uuid.uuid4()),
            DeletionProtectionEnabled=deletion_protection,
            Tags=[{"Key": NAME_TAG, "Value": name}, {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}],
        )
        self._ids[name] = answer["ProtectConfigurationId"]
        self._arns[name] = answer["ProtectConfigurationArn"]

    def _apply_association(self, api: Api, change: Change, name: str) -> None:
        cs = str(change.data["configuration_set"])
        if change.action == "associate":
            # Associating replaces the set's current protect configuration in the same call (AWS
            # API reference, AssociateProtectConfiguration): never disassociate first, which would
            # leave the set unprotected (blocked countries reachable) between the two calls.
            try:
                api.call(SMS_VOICE, "AssociateProtectConfiguration", ProtectConfigurationId=self._id(name), ConfigurationSetName=cs)
            except ClientError as error:
                if error_code(error) != "ConflictException" or self._associated(api, cs) != self._id(name):
                    raise
        else:
            try:
                api.call(SMS_VOICE, "DisassociateProtectConfiguration", ProtectConfigurationId=self._id(name), ConfigurationSetName=cs)
            except ClientError as error:
                if error_code(error) not in {"ConflictException", "ResourceNotFoundException"}:
                    raise
                if self._associated(api, cs) == self._id(name):
                    raise

    @staticmethod
    def _associated(api: Api, configuration_set: str) -> str | None:
        answer = api.call(SMS_VOICE, "DescribeConfigurationSets", ConfigurationSetNames=[configuration_set])
        for item in answer.get("ConfigurationSets", []):
            return item.get("ProtectConfigurationId") or None
        return None

    def _apply_override(self, api: Api, change: Change, name: str) -> None:
        number = change.secret
        if number is None:
            raise ValueError(f"{change.key}: the number is not known (a saved plan must be re-derived)")
        if change.action == "remove":
            self._ignore_missing(
                lambda: api.call(
                    SMS_VOICE,
                    "DeleteProtectConfigurationRuleSetNumberOverride",
                    ProtectConfigurationId=self._id(name),
                    DestinationPhoneNumber=number,
                )
            )
            return
        params: dict[str, Any] = {
            "ProtectConfigurationId": self._id(name),
            "DestinationPhoneNumber": number,
            "Action": change.data["action"],
        }
        if change.data.get("expires"):
            params["ExpirationTimestamp"] = dt.datetime.fromisoformat(str(change.data["expires"]).replace("Z", "+00:00"))
        api.call(SMS_VOICE, "PutProtectConfigurationRuleSetNumberOverride", **params)

    @staticmethod
    def _ignore_missing(action: Any) -> None:
        """Deleting what is already gone is success (a rerun after a crash)."""
        try:
            action()
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise


__all__ = ["MANAGED_BY_TAG", "MANAGED_BY_VALUE", "NAME_TAG", "ProtectArea", "ProtectLive", "ProtectStatus"]
