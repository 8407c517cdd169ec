"""Protect configurations: country rules per capability, emergency blocks, account default,
deletion protection, configuration-set associations and number overrides.

Ownership: the API has no names, so a configuration is found by its ``Name`` tag; the ones the
reconciler created carry ``managed-by: sms-policy-reconciler``. Configurations the policy names
are managed, but are not re-tagged: adopting one is not a change, so a policy written by
``reconciler import`` plans to zero changes. Owned (tagged) configurations the policy no longer
names are deleted; configurations neither named nor owned (including adopted ones once the policy
stops naming them) are reported as unmanaged and deleted only when ``prune`` lists ``protect`` —
the reconciler deletes only what it created or was told to prune.

The area composes its parts (mixins over the shared ``ProtectParts`` state): ``live.py`` (what
is read), ``rules.py`` (country rules, emergency blocks and their record), ``associations.py``
(account default, configuration sets), ``overrides.py`` (number overrides), ``configurations.py``
(create, deletion protection, delete). Reading, matching, diff, reporting and ``apply``'s dispatch
stay here.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from reconciler import lanes
from reconciler.areas.base import ApiOperation, Area, register, sms
from reconciler.areas.protect import quotas as protect_quotas
from reconciler.areas.protect.associations import MissingAccountDefault
from reconciler.areas.protect.configurations import Configurations
from reconciler.areas.protect.live import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    NAME_TAG,
    PAGE,
    LiveProtectConfiguration,
    ProtectLive,
    iso,
)
from reconciler.areas.protect.overrides import NumberOverrides
from reconciler.areas.protect.policy import SECTION
from reconciler.areas.protect.render import REPORT
from reconciler.areas.protect.rules import (
    MAX_RULES_PER_CALL,
    CountryRules,
    countries_text,
    emergency_spec,
    managed_capabilities,
    record_of,
)
from reconciler.areas.protect.spec import Capability, CapabilityRules, ProtectConfigurationSpec, ProtectStatus
from reconciler.aws import SMS_VOICE, Api
from reconciler.cli import UserError
from reconciler.config.model import Desired
from reconciler.countries import SUPPORTED
from reconciler.effects.protect_paths import NO_PROTECTION, RequiredBlock, gaps, labels
from reconciler.milestone import Milestone
from reconciler.plan import (
    FLAG_ACCOUNT_DEFAULT,
    ORDER_ASSOCIATE,
    ORDER_CREATE,
    PHASE_BLOCKS,
    PHASE_MAIN,
    Change,
)


class AmbiguousProtect(UserError):
    """Live protect configurations the policy cannot tell apart: nothing is planned or changed."""


@register
class ProtectArea(CountryRules, NumberOverrides, Configurations, Area):
    section = SECTION
    resource_types = frozenset({"account-default", "configuration-set-association", "country-rules", "emergency-record", "number-override", "protect-configuration"})
    report = REPORT
    internal_types = frozenset({"emergency-record"})
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
            while (item := lanes.get(source)) is not None:
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
        return [f"{why}: {countries_text(sorted(blocks))} not blocked on {path} ({status})"
                for (path, why, status), blocks in sorted(grouped.items())]

    def verify_effects(self, api: Api, desired: Desired, lives: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
        """An empty plan is not a policy in force: every emergency block and BLOCK rule must show on
        every send path in the effect model of the live state read after the writes (the re-read, or
        this run's read when nothing was written there)."""
        live = fresh.get(self.name, lives.get(self.name))
        return [] if live is None else self.blocks_not_in_force(desired, live)

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


__all__ = [
    "MANAGED_BY_TAG",
    "MANAGED_BY_VALUE",
    "NAME_TAG",
    "AmbiguousProtect",
    "LiveProtectConfiguration",
    "MissingAccountDefault",
    "ProtectArea",
    "ProtectLive",
    "ProtectStatus",
]
