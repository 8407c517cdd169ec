"""Country rules: the full country map the policy wants per capability, the emergency blocks that
override it, and the ``reconciler:emergency-blocks`` record of the statuses to restore when they are lifted.

AWS returns the full country map of a capability; the policy's compact form is a
default plus exceptions. Only the capabilities the policy lists are managed, plus the
capabilities of emergency blocks, which override every other status. On a capability the policy
does not list, the status a country had before an emergency block is recorded in the
``reconciler:emergency-blocks`` tag (written before the block), so lifting the block restores it
instead of leaving the country blocked forever. Changes to a capability
are one batched ``UpdateProtectConfigurationCountryRuleSet`` (at most 300 countries, more than
AWS has); the countries that become BLOCK form a separate change in the block phase.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.areas.protect.live import LiveProtectConfiguration, ProtectLive, ProtectParts
from reconciler.areas.protect.spec import ProtectConfigurationSpec
from reconciler.aws import SMS_VOICE, Api
from reconciler.config.model import Desired
from reconciler.countries import SUPPORTED
from reconciler.plan import (
    FLAG_BLOCKS_COUNTRY,
    FLAG_OPENS_COUNTRY,
    ORDER_MEMBERS_ADD,
    ORDER_UPDATE,
    PHASE_BLOCKS,
    Change,
)

RECORD_TAG = "reconciler:emergency-blocks"
RECORD_TAG_MAX = 256  # AWS tag value limit: longer records spread over RECORD_TAG-2, -3, …
MAX_RULES_PER_CALL = 300  # ProtectConfigurationCountryRuleSet map size limit in the service model
_CODES = {"ALLOW": "A", "BLOCK": "B", "MONITOR": "M", "FILTER": "F"}
_STATUSES = {code: status for status, code in _CODES.items()}


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



def countries_text(countries: list[str], limit: int = 8) -> str:
    shown = ", ".join(countries[:limit])
    return shown + (f" and {len(countries) - limit} more" if len(countries) > limit else "")


class CountryRules(ProtectParts):
    """Rule-set changes (BLOCK countries in the block phase) and the emergency record they need."""

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
                    summary=f"block {capability} to {countries_text(countries)}",
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
                    summary=f"set {capability} rules for {countries_text(countries)}"
                    + (f" (unblocks {countries_text(opens)})" if opens else ""),
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
