"""Reading the protect area: the configurations, their Name tags, rule sets and overrides, and the
configuration sets, as concurrent streams on the operations' separate quotas.

A configuration's rule sets and overrides are read as soon as its Name tag shows the policy names it,
so a read takes about as long as the rule sets alone rather than tags + rule sets + overrides. In a
streaming apply (emergency blocks written while the read goes on) the rule sets come first and each
configuration's early block changes are reported as soon as its rule sets are known.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from reconciler import lanes
from reconciler.areas.protect.live import PAGE, LiveProtectConfiguration, ProtectLive, iso
from reconciler.areas.protect.rules import CountryRules, emergency_spec, managed_capabilities, record_of
from reconciler.areas.protect.spec import Capability, CapabilityRules, ProtectConfigurationSpec
from reconciler.aws import SMS_VOICE, Api
from reconciler.config.model import Desired
from reconciler.milestone import Milestone
from reconciler.plan import Change


class ProtectReading(CountryRules):
    """``read`` and ``read_everything`` of the protect area (a mixin of ``ProtectArea``); built on
    ``CountryRules`` because a streaming read reports each configuration's early blocks."""

    early_changes: Callable[[list[Change]], None] | None
    shared_reads_done: Milestone

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
