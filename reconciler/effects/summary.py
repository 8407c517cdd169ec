"""What a plan changes in effect, for reviewers: "who can now receive what from where" (pure).

The *after* state is the live state with the plan's changes applied to a copy (blocked changes
are not applied: they will not run). Both states go through the same effect models —
:mod:`reconciler.effects.protect_paths` for countries per send path and capability,
:mod:`reconciler.effects.opt_out_reach` for the opt-out lists identities honour — and the summary
is their difference, as a JSON value (the plan JSON's ``effects``, docs/plan-json.md):

* ``countries``: per send path (no configuration set: the account default; each configuration
  set) and capability, the countries whose status changes, grouped by kind, riskiest first:
  ``newly-reachable`` (BLOCK before, anything but BLOCK after), ``less-screened`` (MONITOR or
  FILTER before, ALLOW or no protect configuration after), ``newly-blocked``, ``newly-screened``.
  A status not read (``UNKNOWN``) on either side is no known change and is left out.
* ``overrides``: number overrides the plan adds or changes to a non-BLOCK action in a
  configuration whose rules block the number's country: counts per configuration and country,
  never the numbers.
* ``opt_outs``: identities whose honoured opt-out lists change, with the count of end-user
  opt-outs they refused before and the count they could reach after (never the numbers).

Requested-configuration paths (a send naming a protect configuration) are not summarised: every
configuration's own changes show on the paths that resolve to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import phonenumbers

from reconciler.countries import of_number_region
from reconciler.effects.opt_out_reach import ReachState, honoured_lists, newly_reachable
from reconciler.effects.protect_paths import (
    BLOCK,
    NO_PROTECTION,
    UNKNOWN,
    ProtectState,
    SendPath,
    country_status,
    labels,
    send_paths,
)

CAPABILITIES = ("SMS", "VOICE", "MMS")
KINDS = ("newly-reachable", "less-screened", "newly-blocked", "newly-screened")  # riskiest first
SCREENED = frozenset({"MONITOR", "FILTER"})
OPEN = frozenset({"ALLOW", NO_PROTECTION})
NEW = "(new) "  # id prefix of a configuration the plan creates (AWS assigns the id on creation)


@dataclass
class Configuration:
    """A mutable copy of one protect configuration (satisfies ``ConfigurationView``)."""

    id: str
    label: str
    account_default: bool
    rules: dict[str, dict[str, str]]
    overrides: dict[str, dict[str, Any]] | None


@dataclass
class ProtectModel:
    """A mutable copy of a target's protect state (satisfies ``ProtectState``)."""

    configurations: list[Configuration] = field(default_factory=list)
    configuration_sets: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def of(cls, state: ProtectState) -> ProtectModel:
        return cls(
            [Configuration(c.id, c.label, c.account_default, {cap: dict(rules) for cap, rules in c.rules.items()},
                           {n: dict(o) for n, o in c.overrides.items()} if c.overrides is not None else None)
             for c in state.configurations],
            dict(state.configuration_sets),
        )

    def find(self, name: str) -> Configuration | None:
        """The configuration a change names: by Name tag, else by id (keys use either)."""
        return next((c for c in self.configurations if c.label == name), None) or next(
            (c for c in self.configurations if c.id == name), None)


def _protect_changes(changes: Iterable[Any]) -> list[Any]:
    return [c for c in changes if c.area == "protect" and "blocked" not in c.flags]


def protect_after(live: ProtectState, changes: Iterable[Any]) -> ProtectModel:
    """``live`` once the plan's protect changes are applied (in the plan's order)."""
    model = ProtectModel.of(live)
    # Creations first, whatever their phase: a block for a new configuration runs after it exists.
    ordered = sorted(_protect_changes(changes), key=lambda c: (c.action != "create", c.sort_key()))
    for change in ordered:
        name = str(change.data.get("name", ""))
        kind, action = change.resource_type, change.action
        if kind == "protect-configuration" and action == "create":
            # A new configuration allows every country on every capability (AWS's default).
            model.configurations.append(Configuration(f"{NEW}{name}", name, False, {c: {} for c in CAPABILITIES}, {}))
            continue
        config = model.find(name)
        if config is None:
            continue
        if kind == "protect-configuration" and action == "delete":
            model.configurations.remove(config)
            model.configuration_sets = {cs: (None if pid == config.id else pid) for cs, pid in model.configuration_sets.items()}
        elif kind == "country-rules":
            config.rules.setdefault(str(change.data["capability"]), {}).update(change.data.get("updates", {}))
        elif kind == "account-default":
            for other in model.configurations:
                other.account_default = other is config if action == "associate" else (other.account_default and other is not config)
        elif kind == "configuration-set-association":
            cs = str(change.data["configuration_set"])
            if action == "associate":
                model.configuration_sets[cs] = config.id
            elif model.configuration_sets.get(cs) == config.id:
                model.configuration_sets[cs] = None
        elif kind == "number-override":
            number = change.secret or change.key
            if config.overrides is None:
                config.overrides = {}
            if action == "remove":
                config.overrides.pop(number, None)
            else:
                config.overrides[number] = {"action": change.data.get("action"), "expires": change.data.get("expires")}
    return model


def _kind(before: str, after: str) -> str | None:
    if UNKNOWN in (before, after) or before == after:
        return None
    if before == BLOCK:
        return "newly-reachable"
    if after == BLOCK:
        return "newly-blocked"
    if before in SCREENED and after in OPEN:
        return "less-screened"
    if after in SCREENED:
        return "newly-screened"
    return None  # ALLOW <-> no protect configuration, MONITOR <-> FILTER: reach and screening unchanged


def _path_json(path: SendPath, names: Mapping[str, str]) -> dict[str, Any]:
    return {"kind": path.kind, "name": path.name, "configuration": names.get(path.configuration or "", path.configuration)}


def _names(before: ProtectState, after: ProtectState) -> dict[str, str]:
    """Configuration id -> report name; a configuration the plan creates has no id yet."""
    names = {**labels(before), **labels(after)}
    names.update({c.id: f"{c.label} (new)" for c in after.configurations if c.id.startswith(NEW)})
    return names


def _changed(before: ProtectState, old: SendPath, after: ProtectState, new: SendPath, capability: str,
             places: list[str]) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for country in places:
        was = country_status(before, old, capability, country)
        now = country_status(after, new, capability, country)
        kind = _kind(was, now)
        if kind is not None:
            groups.setdefault(kind, []).append({"code": country, "before": was, "after": now})
    return groups


def country_effects(before: ProtectState, after: ProtectState, countries: Iterable[str]) -> list[dict[str, Any]]:
    """Per (send path, capability, kind): the countries whose status changes, riskiest kind first."""
    places = sorted(set(countries))
    names = _names(before, after)
    old_paths = {(p.kind, p.name): p for p in send_paths(before) if p.kind != "request"}
    new_paths = {(p.kind, p.name): p for p in send_paths(after) if p.kind != "request"}
    # Paths resolving to the same configurations before and after change alike: compared once
    # (an account with hundreds of configuration sets has a handful of configurations).
    compared: dict[tuple[str | None, str | None, str], dict[str, list[dict[str, str]]]] = {}
    found: list[dict[str, Any]] = []
    for key in sorted(set(old_paths) & set(new_paths)):
        old, new = old_paths[key], new_paths[key]
        for capability in CAPABILITIES:
            pair = (old.configuration, new.configuration, capability)
            if pair not in compared:
                compared[pair] = _changed(before, old, after, new, capability, places)
            for kind, items in compared[pair].items():
                found.append({"kind": kind, "path": _path_json(new, names), "capability": capability, "countries": items})
    return sorted(found, key=lambda e: (KINDS.index(e["kind"]), e["path"]["kind"] != "no-configuration-set",
                                        e["path"]["name"], e["capability"]))


def country_of(number: str) -> str | None:
    """The ISO country of an E.164 number, None when it cannot be told."""
    try:
        parsed = phonenumbers.parse(number if number.startswith("+") else "+" + number)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return of_number_region(region) if region else None


def override_effects(after: ProtectModel, changes: Iterable[Any]) -> list[dict[str, Any]]:
    """Overrides the plan adds or changes that let a number through where its country is blocked
    (on any capability of that configuration): counted per configuration and country."""
    counts: dict[tuple[str, str], int] = {}
    for change in _protect_changes(changes):
        if change.resource_type != "number-override" or change.action == "remove" or change.secret is None:
            continue
        if str(change.data.get("action")) == BLOCK:
            continue
        config = after.find(str(change.data.get("name", "")))
        country = country_of(change.secret)
        if config is None or country is None:
            continue
        if any(rules.get(country) == BLOCK for rules in config.rules.values()):
            counts[(config.label, country)] = counts.get((config.label, country), 0) + 1
    return [{"configuration": name, "country": country, "numbers": n} for (name, country), n in sorted(counts.items())]


def opt_out_effects(before: ReachState, after: ReachState) -> list[dict[str, Any]]:
    """Identities whose honoured lists change: end-user opt-outs refused before, reachable after."""
    later_of = after.by_key()
    moved = tuple(
        i for i in before.identities
        if (i.kind, i.id) in later_of and honoured_lists(i, before) != honoured_lists(later_of[(i.kind, i.id)], after)
    )
    # Only the identities that move are compared: the sets of a million-entry list are not copied
    # for each of thousands of identities that stay where they are.
    keys = {(i.kind, i.id) for i in moved}
    reachable = newly_reachable(replace(before, identities=moved),
                                replace(after, identities=tuple(i for i in after.identities if (i.kind, i.id) in keys)))
    found = []
    for identity in moved:
        old, new = honoured_lists(identity, before), honoured_lists(later_of[(identity.kind, identity.id)], after)
        refused = before.end_user
        known = all(name in refused for name in old)
        sets = [refused.get(name, frozenset()) for name in old]
        count = len(frozenset.intersection(*sets)) if sets else 0
        found.append({
            "kind": identity.kind,
            "id": identity.id,
            "before": sorted(old),
            "after": sorted(new),
            "end_user_opt_outs": count if known else None,
            "newly_reachable": len(reachable.get((identity.kind, identity.id), frozenset())),
        })
    return sorted(found, key=lambda e: (-e["newly_reachable"], e["kind"], e["id"]))


def empty() -> dict[str, Any]:
    return {"countries": [], "overrides": [], "opt_outs": []}


def summarise(
    protect_before: ProtectState | None,
    changes: list[Any],
    countries: Iterable[str],
    reach: tuple[ReachState, ReachState] | None = None,
) -> dict[str, Any]:
    """The plan's effects (module docstring); a part whose live state was not read is empty."""
    result = empty()
    if protect_before is not None:
        after = protect_after(protect_before, changes)
        result["countries"] = country_effects(protect_before, after, countries)
        result["overrides"] = override_effects(after, changes)
    if reach is not None:
        result["opt_outs"] = opt_out_effects(*reach)
    return result


__all__ = ["KINDS", "ProtectModel", "country_effects", "empty", "opt_out_effects", "override_effects",
           "protect_after", "summarise"]
