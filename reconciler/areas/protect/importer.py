"""Import of the protect area: live protect configurations as policy items.

Country rules are written compactly (the most common status becomes ``default``); configurations
without a unique ``Name`` tag cannot be named by the policy and are left out, with a note.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from reconciler.areas.importing import AreaImporter, ImportContext, ImportedArea
from reconciler.areas.protect.area import ProtectArea, ProtectLive
from reconciler.areas.protect.spec import CAPABILITIES, STATUSES, CapabilityRules
from reconciler.aws import Api
from reconciler.config.model import Desired, Target
from reconciler.countries import SUPPORTED

ALL_RULES = {capability: CapabilityRules() for capability in CAPABILITIES}


def read(api: Api, target: Target) -> ProtectLive:
    """Every protect configuration, the named ones with all four capabilities."""
    return ProtectArea().read_everything(api, ALL_RULES, Desired(target=target))


def compact_rules(rules: dict[str, str]) -> dict[str, Any]:
    """A full country map as ``default`` plus the countries that differ, grouped by status."""
    countries = {c: rules.get(c, "ALLOW") for c in sorted(SUPPORTED)}
    counts = Counter(countries.values())
    default = max(STATUSES, key=lambda s: (counts.get(s, 0), s == "ALLOW"))
    doc: dict[str, Any] = {"default": default}
    for status in STATUSES:
        listed = sorted(c for c, s in countries.items() if s == status and status != default)
        if listed:
            doc[status] = listed
    return doc


def _notes(live: ProtectLive) -> list[str]:
    """Configurations without a unique Name tag cannot be named by the policy."""
    named = Counter(c.name for c in live.configurations if c.name)
    notes = [
        f"protect configuration {c.id} has no Name tag; the policy names configurations by it, so it is not imported"
        for c in live.configurations
        if not c.name
    ]
    notes.extend(
        f"{count} protect configurations carry Name={name}; none of them is imported (re-tag them first)"
        for name, count in sorted(named.items())
        if count > 1
    )
    return notes


def render(live: ProtectLive, context: ImportContext) -> ImportedArea:
    names = Counter(c.name for c in live.configurations if c.name)
    docs = []
    for config in sorted(live.configurations, key=lambda c: c.name or ""):
        if not config.name or names[config.name] != 1:
            continue
        doc: dict[str, Any] = {"name": config.name}
        if config.account_default:
            doc["account_default"] = True
        doc["deletion_protection"] = config.deletion_protection
        sets = sorted(name for name, pc in live.configuration_sets.items() if pc == config.id)
        if sets:
            doc["configuration_sets"] = sets
        if config.rules:
            doc["rules"] = {cap: compact_rules(config.rules[cap]) for cap in CAPABILITIES if cap in config.rules}
        overrides = []
        for number, override in sorted((config.overrides or {}).items()):
            entry: dict[str, Any] = {"number": number, "action": override["action"]}
            if override.get("expires"):
                entry["expires"] = override["expires"]
            overrides.append(entry)
        if overrides:
            doc["number_overrides"] = overrides
        docs.append(doc)
    # A protect configuration names its configuration sets; the policy must declare them too.
    associated = sorted({name for p in docs for name in p.get("configuration_sets", [])})
    return ImportedArea(
        {"protect_configurations": docs, "configuration_sets": [{"name": name} for name in associated]}
    )


IMPORTER = AreaImporter(
    "protect.yaml", ("protect_configurations", "configuration_sets"), read, render, notes=_notes
)
