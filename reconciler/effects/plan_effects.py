"""The effect summary of one target's plan, from the live states the engine read (no AWS calls).

Glue between the areas' live states and the pure models: :mod:`reconciler.effects.summary`
computes the summary; this module only says where each input comes from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.countries import SUPPORTED
from reconciler.effects.opt_out_reach import ReachState, honoured_lists
from reconciler.effects.summary import summarise


def _end_user(opt_outs: Any) -> dict[str, frozenset[str]]:
    """List -> all its end-user opt-outs, for the lists where all of them are known."""
    known: dict[str, frozenset[str]] = dict(getattr(opt_outs, "end_user_read", {}) or {})
    for name, item in (getattr(opt_outs, "read", {}) or {}).items():
        if item.complete:
            known[name] = item.end_user
    return known


def _entries_after(opt_outs: Any, known: Mapping[str, frozenset[str]], changes: Iterable[Any],
                   lists: set[str]) -> dict[str, frozenset[str]]:
    """The numbers known to be on each of ``lists`` once the plan's opt-out changes are applied."""
    entries: dict[str, set[str]] = {name: set(known[name]) for name in lists if name in known}
    for name, item in (getattr(opt_outs, "read", {}) or {}).items():
        if name in lists:
            entries.setdefault(name, set()).update(item.present | item.end_user)
    for change in changes:
        if change.area != "opt_outs" or change.secret is None or "blocked" in change.flags:
            continue
        name = str(change.data.get("list"))
        if name not in lists:
            continue
        numbers = change.secret.split("\n")
        if change.action == "add":
            entries.setdefault(name, set()).update(numbers)
        elif change.action == "remove":
            entries.get(name, set()).difference_update(numbers)
    return {name: frozenset(numbers) for name, numbers in entries.items()}


def reach_states(lives: Mapping[str, Any], changes: list[Any]) -> tuple[ReachState, ReachState] | None:
    from reconciler.areas.opt_outs.carry import reach_after, reach_before

    numbers, opt_outs = lives.get("phone_numbers"), lives.get("opt_outs")
    if numbers is None:
        return None
    known = _end_user(opt_outs)
    before = dataclasses.replace(reach_before(numbers), end_user=known, entries=known)
    after = reach_after(before, changes)
    # Entries matter only on the lists honoured after by identities whose lists change.
    later_of = after.by_key()
    lists: set[str] = set()
    for identity in before.identities:
        later = later_of.get((identity.kind, identity.id))
        if later is not None and honoured_lists(later, after) != honoured_lists(identity, before):
            lists |= honoured_lists(later, after)
    return before, dataclasses.replace(after, entries=_entries_after(opt_outs, known, changes, lists))


def plan_effects(lives: Mapping[str, Any], changes: list[Any]) -> dict[str, Any]:
    """The ``effects`` of a plan whose live states are ``lives`` (area name -> live state)."""
    return summarise(lives.get("protect"), changes, SUPPORTED, reach_states(lives, changes))
