"""The protect area's policy section: protect configurations (country rules, number overrides,
configuration-set associations, the account default), configuration sets and emergency blocks,
their checks and schema fragments (``schema.json``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from reconciler.areas.protect.spec import (
    CAPABILITIES,
    Capability,
    CapabilityRules,
    ConfigurationSetSpec,
    EmergencyBlock,
    NumberOverrideSpec,
    ProtectConfigurationSpec,
    ProtectStatus,
)
from reconciler.config.model import Desired, Source
from reconciler.config.numbers import mask
from reconciler.config.schema_build import fragment
from reconciler.config.section import ListSection, PolicySection, Reference
from reconciler.config.semantic import Item, PolicyBuilder, where
from reconciler.config.yaml_loader import Mark, YamlMap, YamlSeq
from reconciler.countries import name as country_name


def configuration_set(b: PolicyBuilder, item: Item) -> ConfigurationSetSpec:
    return ConfigurationSetSpec(
        name=str(item.data["name"]),
        protect_configuration=item.data.get("protect_configuration"),
        source=item.source,
    )


def _rules(b: PolicyBuilder, item: Item, capability: str, rules: YamlMap) -> CapabilityRules:
    default = cast(ProtectStatus, rules.get("default", "ALLOW"))
    countries: dict[str, ProtectStatus] = {}
    first_seen: dict[str, tuple[str, Mark]] = {}
    for status in ("ALLOW", "BLOCK", "MONITOR", "FILTER"):
        codes = rules.get(status)
        if not isinstance(codes, YamlSeq):
            continue
        for index, code in enumerate(codes):
            mark = codes.item_marks[index]
            if not b.country(item, mark, code):
                continue
            if code in first_seen:
                earlier_status, earlier = first_seen[code]
                if earlier_status == status:
                    b.ctx.at(
                        item,
                        mark,
                        "protect-country-duplicate",
                        f"{capability}: {code} is listed twice under {status} (first at line {earlier.line})",
                        "remove the repeated country",
                        "warning",
                    )
                else:
                    b.ctx.at(
                        item,
                        mark,
                        "protect-country-conflict",
                        f"{capability}: {code} ({country_name(code)}) is listed under both "
                        f"{earlier_status} (line {earlier.line}) and {status}",
                        "a country has one status per capability: keep it under one status",
                    )
                continue
            first_seen[code] = (status, mark)
            if status == default:
                b.ctx.at(
                    item,
                    mark,
                    "protect-country-redundant",
                    f"{capability}: {code} is listed under {status}, which is already the default",
                    "remove it: every country not listed has the default status",
                    "warning",
                )
                continue
            countries[code] = cast(ProtectStatus, status)
    return CapabilityRules(default=default, countries=dict(sorted(countries.items())))


def protect_configuration(b: PolicyBuilder, item: Item) -> ProtectConfigurationSpec:
    data = item.data
    rules: dict[Capability, CapabilityRules] = {}
    rule_map = data.get("rules")
    if isinstance(rule_map, YamlMap):
        for capability in CAPABILITIES:
            if isinstance(rule_map.get(capability), YamlMap):
                rules[capability] = _rules(b, item, capability, rule_map[capability])
    overrides: list[NumberOverrideSpec] = []
    seen: dict[str, Mark] = {}
    entries = data.get("number_overrides")
    if isinstance(entries, YamlSeq):
        for index, entry in enumerate(entries):
            mark = entries.item_marks[index]
            number = str(entry["number"])
            number_mark = entry.value_marks.get("number", mark)
            if not b.phone(item, number_mark, number, personal=True):
                continue
            if number in seen:
                b.ctx.at(
                    item,
                    number_mark,
                    "override-duplicate",
                    f"{mask(number)} already has an override at line {seen[number].line}",
                    "keep one override per number",
                )
                continue
            seen[number] = number_mark
            expires = entry.get("expires")
            if expires is not None and not _is_utc_timestamp(str(expires)):
                b.ctx.at(
                    item,
                    entry.value_marks["expires"],
                    "invalid-timestamp",
                    f"{expires!r} is not a real date and time",
                    'write a UTC timestamp such as "2026-12-31T00:00:00Z"',
                )
            overrides.append(
                NumberOverrideSpec(
                    number=number,
                    action=entry["action"],
                    expires=None if expires is None else str(expires),
                    source=Source(item.doc.file, mark.line, mark.column),
                )
            )
    return ProtectConfigurationSpec(
        name=str(data["name"]),
        rules=rules,
        account_default=bool(data.get("account_default", False)),
        deletion_protection=data.get("deletion_protection"),
        configuration_sets=tuple(sorted(str(c) for c in data.get("configuration_sets", []))),
        number_overrides=tuple(sorted(overrides, key=lambda o: o.number)),
        source=item.source,
    )


def emergency_block(b: PolicyBuilder, item: Item) -> EmergencyBlock:
    data = item.data
    b.country(item, item.mark("country"), str(data["country"]))
    capabilities = data.get("capabilities")
    return EmergencyBlock(
        country=str(data["country"]),
        capabilities=tuple(c for c in CAPABILITIES if c in capabilities)
        if capabilities
        else CAPABILITIES,
        reason=data.get("reason"),
        source=item.source,
    )


def emergency_duplicates(b: PolicyBuilder) -> None:
    seen: dict[tuple[str, str, str], Item] = {}
    for item in b.items["emergency_blocks"]:
        caps = item.data.get("capabilities") or CAPABILITIES
        for target in sorted(item.targets):
            for capability in caps:
                key = (target, str(item.data["country"]), capability)
                first = seen.setdefault(key, item)
                if first is not item:
                    b.ctx.at(
                        item,
                        item.mark("country"),
                        "emergency-duplicate",
                        f"{key[1]} {capability} is already blocked at line {first.data.mark.line}",
                        "remove one of the two blocks",
                        "warning",
                    )


def associations(
    b: PolicyBuilder,
    target: str,
    protect: list[tuple[Item, ProtectConfigurationSpec]],
    config_sets: list[tuple[Item, ConfigurationSetSpec]],
) -> tuple[list[tuple[Item, ProtectConfigurationSpec]], list[tuple[Item, ConfigurationSetSpec]]]:
    """One account default; one protect configuration per configuration set, whichever side
    declares the association; and both sides of the model filled in consistently."""
    defaults = [(i, s) for i, s in protect if s.account_default]
    if len(defaults) > 1:
        for item, spec in defaults:
            others = ", ".join(f"{s.name!r} ({where(i)})" for i, s in defaults if i is not item)
            b.ctx.at(
                item,
                item.mark("account_default"),
                "account-default-conflict",
                f"target {target}: {spec.name!r} and {others} are both the account default",
                "an account has one default protect configuration: set account_default on one only",
            )
    owner: dict[str, tuple[str, Item, Mark]] = {}
    for item, spec in protect:
        names = item.data.get("configuration_sets") or []
        for index, name in enumerate(names):
            mark = item.item_mark("configuration_sets", index)
            if name in owner and owner[name][0] != spec.name:
                b.ctx.at(
                    item,
                    mark,
                    "configuration-set-conflict",
                    f"configuration set {name!r} is already associated with {owner[name][0]!r} "
                    f"({owner[name][1].doc.file}:{owner[name][2].line})",
                    "a configuration set has one protect configuration: list it under one only",
                )
                continue
            owner[name] = (spec.name, item, mark)
    for item, config_set in config_sets:
        wanted = config_set.protect_configuration
        if wanted is not None and config_set.name in owner and owner[config_set.name][0] != wanted:
            holder, holder_item, holder_mark = owner[config_set.name]
            b.ctx.at(
                item,
                item.mark("protect_configuration"),
                "configuration-set-conflict",
                f"configuration set {config_set.name!r} names protect configuration {wanted!r}, but "
                f"{holder!r} lists it ({holder_item.doc.file}:{holder_mark.line})",
                "declare the association in one place",
            )
    # Fill both sides so areas can read either one.
    by_protect: dict[str, set[str]] = defaultdict(set)
    for name, (protect_name, _, _) in owner.items():
        by_protect[protect_name].add(name)
    for _, config_set in config_sets:
        if config_set.protect_configuration is not None:
            by_protect[config_set.protect_configuration].add(config_set.name)
    new_protect = [
        (
            i,
            replace(
                s,
                configuration_sets=tuple(
                    sorted(by_protect.get(s.name, set()) | set(s.configuration_sets))
                ),
            ),
        )
        for i, s in protect
    ]
    new_sets = [
        (
            i,
            s
            if s.protect_configuration is not None or s.name not in owner
            else replace(s, protect_configuration=owner[s.name][0]),
        )
        for i, s in config_sets
    ]
    return new_protect, new_sets


def quotas(b: PolicyBuilder, desired: Desired) -> None:
    """The target's resource quotas (AWS's defaults, or ``targets[].quotas``) hold what the
    policy declares. Only declared resources can be counted here; configurations the policy
    does not manage count too, and the plan checks them against the live account."""
    target, quotas = desired.target, desired.target.quotas
    configurations = sorted(
        desired.protect_configurations,
        key=lambda c: (c.source.file, c.source.line, c.source.column, c.name) if c.source else ("", 0, 0, c.name),
    )
    if len(configurations) > quotas.protect_configurations:
        extra = configurations[quotas.protect_configurations]
        where = extra.source or target.source or Source(b.ctx.display_dir, 1, 1)
        b.ctx.report(
            where.file,
            Mark(where.line, where.column),
            "quota-exceeded",
            f"target {target.name!r} declares {len(configurations)} protect configurations; the account may "
            f"have {quotas.protect_configurations} in {target.region} (AWS's default is 25 per account and Region)",
            "remove protect configurations from this target, or, if AWS raised the account's quota, "
            "set quotas: {protect_configurations: N} on the target in targets.yaml",
        )
    limit = quotas.number_overrides_per_protect_configuration
    for config in configurations:
        if limit is not None and len(config.number_overrides) > limit:
            extra_override = config.number_overrides[limit]
            where = extra_override.source or config.source or Source(b.ctx.display_dir, 1, 1)
            b.ctx.report(
                where.file,
                Mark(where.line, where.column),
                "quota-exceeded",
                f"protect configuration {config.name!r} has {len(config.number_overrides)} number overrides; "
                f"target {target.name!r} allows {limit} per protect configuration",
                "remove number overrides, or raise quotas.number_overrides_per_protect_configuration "
                "on the target if AWS raised it",
            )


def arrange(b: PolicyBuilder, target: str, chosen: dict[str, list[tuple[Item, Any]]]) -> None:
    chosen["protect_configurations"], chosen["configuration_sets"] = associations(
        b, target, chosen["protect_configurations"], chosen["configuration_sets"]
    )


def _is_utc_timestamp(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


SECTION = PolicySection(
    area="protect",
    lists=(
        ListSection("configuration_sets", "configuration set", configuration_set),
        ListSection("protect_configurations", "protect configuration", protect_configuration),
        ListSection("emergency_blocks", "emergency block", emergency_block, key_field=None, unique=False),
    ),
    schema=fragment(Path(__file__).with_name("schema.json")),
    file_stems={"emergency": "emergency"},  # emergency.yaml: the emergency blocks, one line each
    misplaced_keys={"emergency_blocks": "emergency blocks belong in their own file, emergency.yaml"},
    codes={
        "invalid-timestamp": "a timestamp that is not a real UTC date and time",
        "protect-country-conflict": "a country is listed under two statuses for one capability",
        "protect-country-duplicate": "a country is listed twice under the same status",
        "protect-country-redundant": "a country is listed under the capability's default status",
        "account-default-conflict": "more than one protect configuration is the account default",
        "configuration-set-conflict": "a configuration set is associated with two protect configurations",
        "override-duplicate": "a number has two overrides in one protect configuration",
        "quota-exceeded": "more protect configurations or number overrides than the target's quota",
        "emergency-duplicate": "a country is blocked twice for the same capability",
    },
    item_codes=frozenset({
        "invalid-timestamp", "protect-country-conflict", "protect-country-duplicate",
        "protect-country-redundant", "override-duplicate",
    }),
    references=(
        Reference("configuration_sets", "protect_configuration", "protect_configurations"),
        Reference("protect_configurations", "configuration_sets", "configuration_sets", many=True),
    ),
    arrange=arrange,
    check_target=quotas,
    check_policy=emergency_duplicates,
)
