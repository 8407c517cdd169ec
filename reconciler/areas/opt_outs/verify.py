"""After an apply: end-user opt-outs followed their identities, checked on a fresh read.

The carry (:mod:`reconciler.areas.opt_outs.carry`) reads its own writes back, but a check that
trusts the writer misses a writer that silently wrote nothing, or an identity moved by a run that
did not manage opt-out lists (``--exclude opt_outs``). So verification compares, through the effect
model (:mod:`reconciler.effects.opt_out_reach`), the state read before the apply with the state
read after it: every end-user opt-out an identity refused before must be on every list it honours
after, otherwise the apply fails naming the identity (masked) and the lists.

What is read, and why no more:

* identities after: the verification re-read of ``phone_numbers`` (the run's own read when the
  apply changed no identity: then none moved);
* end-user opt-outs before: what planning read (the carry reads them for every list an identity
  moves away from); a list it did not read is read now with the ``end-user-opted-out`` filter —
  only a list the apply moved identities away from, whose end-user entries a move does not change;
* entries after: those the ``opt_outs`` re-read saw, then only the numbers still unaccounted for,
  only on the lists the moved identities honour now (``opt_outs.probe``: pages while cheaper than
  lookups, then five numbers a call).

Identities whose lists did not change are not re-checked: an apply never removes an end-user
opt-out from a list (``exact`` mode keeps them), and AWS refuses to delete a list in use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from reconciler.areas.opt_outs.area import LiveOptOuts, list_opt_out_lists, probe
from reconciler.areas.opt_outs.carry import end_user_opt_outs, reach_before
from reconciler.areas.phone_numbers.area import NumbersLive
from reconciler.aws import Api, error_code
from reconciler.costs import Strategy
from reconciler.effects.opt_out_reach import Identity, ReachState, honoured_lists, newly_reachable
from reconciler.report.mask import mask_number

VERIFY = Strategy("probe", 0, 0, "verifying that end-user opt-outs followed their identities")


def reachable_again(api: Api, lives: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """One line per identity that can now reach end-user opt-outs it refused before (module
    docstring), e.g. ``end-user opt-outs reachable again: 3 on +1888555**** (list A -> B)``."""
    numbers = lives.get("phone_numbers")
    if not isinstance(numbers, NumbersLive):
        return []
    later = fresh.get("phone_numbers", numbers)
    before, after = reach_before(numbers), reach_before(later)
    later_of = after.by_key()
    moved = tuple(
        i for i in before.identities
        if (key := (i.kind, i.id)) in later_of and honoured_lists(i, before) != honoured_lists(later_of[key], after)
    )
    if not moved:
        return []
    before = dataclasses.replace(before, identities=moved)
    before = dataclasses.replace(before, end_user=_end_user_before(api, lives.get("opt_outs"), before))
    refused = {(i.kind, i.id): _on_all(honoured_lists(i, before), before.end_user) for i in moved}
    wanted: dict[str, set[str]] = {}
    for identity in moved:
        for name in honoured_lists(later_of[(identity.kind, identity.id)], after):
            wanted.setdefault(name, set()).update(refused[(identity.kind, identity.id)])
    entries = _entries_after(api, fresh.get("opt_outs"), wanted)
    reached = newly_reachable(before, dataclasses.replace(after, entries=entries))
    labels = {n.id: mask_number(n.number) for n in (*numbers.numbers, *later.numbers)}
    return [
        f"end-user opt-outs reachable again: {len(found):,} on {_who(identity, labels)} "
        f"(list {', '.join(sorted(honoured_lists(identity, before)))} -> "
        f"{', '.join(sorted(honoured_lists(later_of[(identity.kind, identity.id)], after)))})"
        for identity in moved
        if (found := reached.get((identity.kind, identity.id)))
    ]


def _end_user_before(api: Api, opt_outs: Any, before: ReachState) -> dict[str, frozenset[str]]:
    """End-user opt-outs of the lists the moved identities honoured: as planning read them, else
    read now (filtered) from a list that still exists."""
    live = opt_outs if isinstance(opt_outs, LiveOptOuts) else LiveOptOuts()
    known: dict[str, frozenset[str]] = dict(live.end_user_read)
    known.update({name: item.end_user for name, item in live.read.items() if item.complete})
    sources = {name for i in before.identities for name in honoured_lists(i, before)} - set(known)
    if sources:
        existing = live.lists or list_opt_out_lists(api)
        unread = LiveOptOuts(lists=existing)
        for name in sorted(sources & set(existing)):
            known[name] = end_user_opt_outs(api, unread, name)
    return known


def _entries_after(api: Api, opt_outs: Any, wanted: Mapping[str, set[str]]) -> dict[str, frozenset[str]]:
    """For each list, those of its ``wanted`` numbers that are on it now."""
    seen = opt_outs.read if isinstance(opt_outs, LiveOptOuts) else {}
    entries: dict[str, frozenset[str]] = {}
    for name, numbers in sorted(wanted.items()):
        item = seen.get(name)
        known = (item.present | item.end_user) if item is not None else frozenset()
        unknown = sorted(numbers - known)
        if unknown and not (item is not None and item.complete):
            try:
                known |= probe(api, name, "", VERIFY, unknown).present
            except ClientError as error:
                if error_code(error) != "ResourceNotFoundException":
                    raise
                # The list is gone: nothing is on it.
        entries[name] = frozenset(numbers & known)
    return entries


def _on_all(lists: frozenset[str], by_list: Mapping[str, frozenset[str]]) -> frozenset[str]:
    sets = [by_list.get(name, frozenset()) for name in lists]
    return frozenset.intersection(*sets) if sets else frozenset()


def _who(identity: Identity, labels: Mapping[str, str]) -> str:
    if identity.kind == "phone-number":
        return labels.get(identity.id, identity.id)
    return f"{identity.kind} {identity.id}"


__all__ = ["reachable_again"]
