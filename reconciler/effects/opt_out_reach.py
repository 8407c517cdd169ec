"""Which opt-out list each origination identity honours, and who a change makes reachable.

Pure: computed from a :class:`ReachState` (what was read), never from AWS.

How AWS picks the list for a send (the sandbox's SendTextMessage, the oracle, implements the same):

* a **pool** honours its own opt-out list ("Change a pool's opt-out list": a number on the list
  associated with the pool used to send is not sent to); a new pool gets ``Default``;
* a **phone number** in a pool honours the pool's list — a pool's members share its settings, the
  opt-out list included ("Phone pools"; AssociateOriginationIdentity refuses a mismatch) — and a
  number outside a pool its own list (``Default`` unless set: UpdatePhoneNumber OptOutListName);
* a **sender ID** has no opt-out list in the API (DescribeSenderIds/UpdateSenderId carry none): it
  honours the list of each pool it belongs to (a sender ID may be in several), else ``Default``.
  *Assumption* (strictest plausible reading; AWS does not say which list a direct send from a
  sender ID uses): every one of those lists counts, so a number is protected only if it is on all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

DEFAULT_LIST = "Default"

IdentityKind = Literal["phone-number", "pool", "sender-id"]


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    id: str
    opt_out_list: str | None = None  # its own list (numbers, pools); None: Default (or none, sender IDs)
    pools: tuple[str, ...] = ()  # pools it is a member of (a number: at most one)


@dataclass(frozen=True)
class ReachState:
    """Identities and the lists they may honour, with the entries known to be on each list."""

    identities: tuple[Identity, ...] = ()
    pool_lists: Mapping[str, str | None] = field(default_factory=dict)  # pool id -> its list
    entries: Mapping[str, frozenset[str]] = field(default_factory=dict)  # list -> numbers on it (any kind)
    end_user: Mapping[str, frozenset[str]] = field(default_factory=dict)  # list -> EndUserOptedOut numbers

    def by_key(self) -> dict[tuple[str, str], Identity]:
        return {(i.kind, i.id): i for i in self.identities}


def honoured_lists(identity: Identity, state: ReachState) -> frozenset[str]:
    """The opt-out list(s) a send from ``identity`` is checked against (module docstring)."""
    if identity.kind == "pool":
        return frozenset({state.pool_lists.get(identity.id) or DEFAULT_LIST})
    if identity.pools:
        return frozenset(state.pool_lists.get(pool) or DEFAULT_LIST for pool in identity.pools)
    if identity.kind == "phone-number":
        return frozenset({identity.opt_out_list or DEFAULT_LIST})
    return frozenset({DEFAULT_LIST})


@dataclass(frozen=True)
class Honoured:
    """One identity's effect: the lists it honours and how many end-user opt-outs they hold."""

    identity: Identity
    lists: frozenset[str]
    end_user_opt_outs: int  # end-user opt-outs on every honoured list (what the identity refuses)


def honoured(state: ReachState) -> list[Honoured]:
    found = []
    for identity in state.identities:
        lists = honoured_lists(identity, state)
        found.append(Honoured(identity, lists, len(_protected(lists, state.end_user))))
    return found


def _protected(lists: frozenset[str], by_list: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """Numbers on every one of ``lists`` (a send may be checked against any of them)."""
    sets = [by_list.get(name, frozenset()) for name in lists]
    return frozenset.intersection(*sets) if sets else frozenset()


def newly_reachable(before: ReachState, after: ReachState) -> dict[tuple[str, str], frozenset[str]]:
    """End-user opt-outs each identity refused before and would send to after:
    ``(kind, id) -> numbers``. An identity gone after the change sends nothing."""
    reachable: dict[tuple[str, str], frozenset[str]] = {}
    later_of = after.by_key()
    for identity in before.identities:
        later = later_of.get((identity.kind, identity.id))
        if later is None:
            continue
        refused = _protected(honoured_lists(identity, before), before.end_user)
        still = _protected(honoured_lists(later, after), after.entries)
        lost = refused - still
        if lost:
            reachable[(identity.kind, identity.id)] = lost
    return reachable


def list_moves(before: ReachState, after: ReachState) -> set[tuple[str, str]]:
    """(from, to) list pairs: some identity honoured ``from`` before and honours ``to`` after
    without honouring ``from`` any more. These are the moves whose end-user opt-outs must follow."""
    moves: set[tuple[str, str]] = set()
    later_of = after.by_key()
    for identity in before.identities:
        later = later_of.get((identity.kind, identity.id))
        if later is None:
            continue
        old, new = honoured_lists(identity, before), honoured_lists(later, after)
        moves.update((source, destination) for source in old - new for destination in new - old)
    return moves


def with_lists(state: ReachState, numbers: Mapping[str, str], pools: Mapping[str, str]) -> ReachState:
    """``state`` after phone numbers (id -> list) and pools (id -> list) moved to other lists."""
    identities = tuple(
        replace(i, opt_out_list=numbers[i.id]) if i.kind == "phone-number" and i.id in numbers else i
        for i in state.identities
    )
    return replace(state, identities=identities, pool_lists={**state.pool_lists, **pools})
