"""End-user opt-outs follow their identities.

When a plan would make an identity (a phone number; a pool, and with it its members and sender
IDs) stop honouring an opt-out list — the identity moves to another list, or the list is deleted
(a rename is a delete plus a create) — the recipients who replied STOP on the old list
(``EndUserOptedOut``) would be reachable from it (:mod:`reconciler.effects.opt_out_reach`). So the
plan first *carries* them to the list the identity moves to: one masked, counted change per
(from, to) pair, ordered after new lists are created and before any identity moves or list is
deleted. A deleted list whose end-user opt-outs no identity takes anywhere is flagged; the guard
refuses it unless the apply names their exact count (``--drop-end-user-opt-outs N``).

Carried entries are written with PutOptedOutNumber, so AWS records them with ``EndUserOptedOut``
false, and an ``exact`` list would remove them on the next plan. Carrying therefore records, in a
tag on the destination list (:data:`CARRIED_TAG`), the time windows of the carried entries'
``OptedOutTimestamp`` (AWS returns it from PutOptedOutNumber, also for an entry already listed);
``exact`` mode never removes an entry inside a recorded window. Windows are merged when the tag
value runs out of room (256 characters): a wider window keeps more, never less.

Cost: the end-user opt-outs of a list are read (DescribeOptedOutNumbers with the
``end-user-opted-out`` filter, 100 a page at 1 request/s) only for a list a planned change moves
identities away from or deletes; a plan without such a change reads nothing more.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.aws import SMS_VOICE, Api
from reconciler.cli import UserError
from reconciler.effects.opt_out_reach import DEFAULT_LIST, Identity, ReachState, list_moves, with_lists
from reconciler.plan import FLAG_BLOCKED, ORDER_CREATE, Change
from reconciler.report.mask import mask_number

if TYPE_CHECKING:
    from reconciler.areas.opt_outs.area import LiveOptOuts
    from reconciler.areas.phone_numbers.area import NumbersLive

AREA = "opt_outs"
ORDER_CARRY = ORDER_CREATE + 5  # new lists exist; no identity has moved and no list is deleted yet
CARRIED_TAG = "reconciler:carried-opt-outs"
FLAG_DROPS_END_USER = "drops-end-user-opt-outs"
TAG_VALUE_MAX = 256  # AWS tag values
MERGE_GAP_SECONDS = 60.0  # carried entries written this close together share one window
LOOKUP_BATCH = 5  # DescribeOptedOutNumbers takes at most 5 numbers


# Planning ---------------------------------------------------------------------------------------


def reach_before(live: NumbersLive) -> ReachState:
    """The identities the phone_numbers area read, as the effect model sees them."""
    identities = [
        Identity("phone-number", n.id, n.attributes.get("opt_out_list"), (n.pool_id,) if n.pool_id else ())
        for n in live.numbers
    ]
    identities += [Identity("pool", p.id, p.attributes.get("opt_out_list")) for p in live.pools]
    return ReachState(tuple(identities), {p.id: p.attributes.get("opt_out_list") for p in live.pools})


def reach_after(before: ReachState, changes: Iterable[Change]) -> ReachState:
    """``before`` once the plan's opt-out list updates of numbers and pools are applied."""
    numbers: dict[str, str] = {}
    pools: dict[str, str] = {}
    for change in changes:
        wanted = change.data.get("updates", {}).get("opt_out_list") if change.area == "phone_numbers" else None
        if wanted is None or "blocked" in change.flags:
            continue
        name = str(wanted).rsplit("/", 1)[-1]
        if change.resource_type == "phone-number":
            numbers[str(change.data["id"])] = name
        elif change.resource_type == "pool":
            pools[str(change.data["id"])] = name
    return with_lists(before, numbers, pools)


def follow_identities(
    api: Api, live: LiveOptOuts, numbers: NumbersLive | None, changes: list[Change]
) -> list[Change]:
    """``changes`` with the carries they need added, removals of carried numbers dropped, and
    deletions that would drop end-user opt-outs flagged (module docstring); the same list object
    when nothing moves and no list is deleted."""
    moves: set[tuple[str, str]] = set()
    users: dict[str, list[str]] = {}
    if numbers is not None:
        before = reach_before(numbers)
        after = reach_after(before, changes)
        moves = list_moves(before, after)
        users = list_users(after)
    deleted = {
        str(c.data["list"]) for c in changes
        if c.area == AREA and c.resource_type == "opt-out-list" and c.action == "delete"
    }
    if deleted & set(users):
        changes = [_block_in_use(c, users) for c in changes]
    moves = {(a, b) for a, b in moves if a in live.lists and b not in deleted}
    sources = {a for a, _ in moves} | (deleted & set(live.lists))
    if not sources:
        return changes
    end_user = {name: end_user_opt_outs(api, live, name) for name in sorted(sources)}
    removed = _removed(changes)
    result: list[Change] = []
    carried_into: dict[str, set[str]] = {}
    for change in changes:
        if change.area == AREA and change.action == "delete" and change.resource_type == "opt-out-list":
            change = _flag_drop(change, end_user, moves)
        result.append(change)
    for source, destination in sorted(moves):
        kept = _kept_on(live, destination) - removed.get(destination, set())
        numbers_to_carry = end_user[source] - kept
        if numbers_to_carry:
            carried_into.setdefault(destination, set()).update(numbers_to_carry)
            result.append(carry_change(source, destination, numbers_to_carry))
    # An exact list must not remove, in the same plan, what is carried into it.
    return [
        c for c in result
        if not (c.area == AREA and c.action == "remove" and c.secret in carried_into.get(str(c.data.get("list")), ()))
    ]


def list_users(state: ReachState) -> dict[str, list[str]]:
    """List -> the identities that use it as their own list (a number's, a pool's)."""
    users: dict[str, list[str]] = {}
    for identity in state.identities:
        own = state.pool_lists.get(identity.id) if identity.kind == "pool" else identity.opt_out_list
        users.setdefault(own or DEFAULT_LIST, []).append(identity.id)
    return users


def _block_in_use(change: Change, users: dict[str, list[str]]) -> Change:
    """AWS refuses to delete a list a phone number or pool uses (DeleteOptOutList: "in-use by an
    origination phone number or pool"): say so in the plan rather than fail half-way."""
    name = str(change.data.get("list"))
    if not (change.area == AREA and change.action == "delete" and change.resource_type == "opt-out-list"):
        return change
    if name not in users:
        return change
    using = ", ".join(sorted(users[name])[:5]) + (" …" if len(users[name]) > 5 else "")
    return dataclasses.replace(
        change,
        flags=change.flags | {FLAG_BLOCKED},
        data={**change.data, "reason": f"opt-out list {name} is still used by {using} after this plan, and AWS "
              "refuses to delete a list a phone number or pool uses; set their opt_out_list to another list in "
              f"the policy, or keep {name} in opt_out_lists"},
    )


def _removed(changes: Iterable[Change]) -> dict[str, set[str]]:
    removed: dict[str, set[str]] = {}
    for change in changes:
        if change.area == AREA and change.action == "remove" and change.secret:
            removed.setdefault(str(change.data["list"]), set()).add(change.secret)
    return removed


def _kept_on(live: LiveOptOuts, name: str) -> frozenset[str]:
    """Numbers known to be on list ``name`` (a list not read: none known)."""
    item = live.read.get(name)
    return (item.present | item.end_user) if item is not None else frozenset()


def _flag_drop(change: Change, end_user: dict[str, frozenset[str]], moves: set[tuple[str, str]]) -> Change:
    name = str(change.data["list"])
    dropped = len(end_user.get(name, frozenset()))
    if not dropped or any(source == name for source, _ in moves):
        return change
    return dataclasses.replace(
        change,
        flags=change.flags | {FLAG_DROPS_END_USER},
        data={**change.data, "end_user_opt_outs": dropped},
        summary=f"{change.summary}; DROPS {dropped:,} end-user opt-out(s) (recipients who replied STOP) that no "
        "identity carries to another list",
    )


def carry_change(source: str, destination: str, numbers: Iterable[str]) -> Change:
    """One change per (from, to) pair: the count is shown, the numbers travel in ``secret``."""
    ordered = sorted(numbers)
    return Change(
        AREA,
        "add",
        "carried-opt-outs",
        f"{AREA}/{destination}/carried-from/{source}",
        after={"from": source, "end_user_opt_outs": len(ordered)},
        order=ORDER_CARRY,
        data={"list": destination, "from": source, "count": len(ordered)},
        secret="\n".join(ordered),
        scope=f"{AREA}/{destination}",
        summary=f"carry {len(ordered):,} end-user opt-out(s) from {source} to {destination} "
        "(identities move; recipients who replied STOP stay refused)",
    )


def end_user_opt_outs(api: Api, live: LiveOptOuts, name: str) -> frozenset[str]:
    """The end-user opt-outs of list ``name``: from a whole-list read already made, else read with
    the ``end-user-opted-out`` filter (once per run)."""
    item = live.read.get(name)
    if item is not None and item.complete:
        return item.end_user
    if name not in live.end_user_read:
        found: set[str] = set()
        params: dict[str, Any] = {
            "OptOutListName": name, "MaxResults": 100,
            "Filters": [{"Name": "end-user-opted-out", "Values": ["true"]}],
        }
        for page in api.pages(SMS_VOICE, "DescribeOptedOutNumbers", **params):
            found.update(str(e["OptedOutNumber"]) for e in page.get("OptedOutNumbers", []) if e.get("EndUserOptedOut"))
        live.end_user_read[name] = frozenset(found)
    return live.end_user_read[name]


# Applying ---------------------------------------------------------------------------------------


def apply_carry(api: Api, change: Change, arn: str | None) -> None:
    """Write the carried numbers, record their times on the list, then read them back: identities
    move only after every carried number is on the destination list."""
    name = str(change.data["list"])
    if not change.secret:
        raise UserError(f"{change.key}: the change carries no numbers (plans from files are re-planned first)")
    numbers = change.secret.split("\n")
    stamps: list[float] = []
    for number in numbers:
        entry = api.call(SMS_VOICE, "PutOptedOutNumber", OptOutListName=name, OptedOutNumber=number)
        stamps.append(_seconds(entry["OptedOutTimestamp"]))
    if arn is None:
        raise UserError(f"opt-out list {name} disappeared while end-user opt-outs were carried into it")
    windows = merge_windows([*read_windows(api, arn), *((s, s) for s in stamps)])
    api.call(SMS_VOICE, "TagResource", ResourceArn=arn, Tags=[{"Key": CARRIED_TAG, "Value": encode_windows(windows)}])
    missing = sorted(set(numbers) - set(entry_stamps(api, name, numbers)))
    if missing:
        raise UserError(
            f"{len(missing)} carried end-user opt-out(s) are not on {name} after writing them "
            f"({', '.join(mask_number(n) for n in missing[:5])}); nothing moved to {name} yet: apply again"
        )


def entry_stamps(api: Api, name: str, numbers: Sequence[str]) -> dict[str, float]:
    """``OptedOutTimestamp`` of those ``numbers`` that are on list ``name`` (5 a call)."""
    found: dict[str, float] = {}
    for start in range(0, len(numbers), LOOKUP_BATCH):
        batch = list(numbers[start : start + LOOKUP_BATCH])
        response = api.call(SMS_VOICE, "DescribeOptedOutNumbers", OptOutListName=name, OptedOutNumbers=batch)
        for entry in response.get("OptedOutNumbers", []):
            found[str(entry["OptedOutNumber"])] = _seconds(entry["OptedOutTimestamp"])
    return found


def carried(api: Api, name: str, arn: str, candidates: Sequence[str]) -> frozenset[str]:
    """Those of ``candidates`` (entries an exact list would remove) that were carried into it."""
    windows = read_windows(api, arn)
    if not windows or not candidates:
        return frozenset()
    stamps = entry_stamps(api, name, sorted(candidates))
    return frozenset(n for n, s in stamps.items() if any(low <= s <= high for low, high in windows))


# The carried-windows tag ------------------------------------------------------------------------


Window = tuple[float, float]


def _seconds(value: Any) -> float:
    return float(value.timestamp()) if hasattr(value, "timestamp") else float(value)


def read_windows(api: Api, arn: str) -> list[Window]:
    tags = api.call(SMS_VOICE, "ListTagsForResource", ResourceArn=arn).get("Tags", [])
    value = next((str(t.get("Value", "")) for t in tags if t.get("Key") == CARRIED_TAG), "")
    return parse_windows(value)


def parse_windows(value: str) -> list[Window]:
    """Windows of a tag value ``v1;LOW-HIGH;…`` (whole seconds). Malformed parts are ignored:
    ignoring a window can only make exact mode remove less, never more."""
    if not value.startswith("v1;"):
        return []
    windows: list[Window] = []
    for part in value.split(";")[1:]:
        low, _, high = part.partition("-")
        if low.isdigit() and high.isdigit() and int(low) <= int(high):
            windows.append((float(low), float(high)))
    return windows


def encode_windows(windows: Sequence[Window]) -> str:
    return "v1;" + ";".join(f"{math.floor(low)}-{math.ceil(high)}" for low, high in windows)


def merge_windows(windows: Iterable[Window], limit: int = TAG_VALUE_MAX) -> list[Window]:
    """Sorted, overlapping or close windows joined, then the closest joined until the tag fits."""
    merged: list[list[float]] = []
    for low, high in sorted(windows):
        if merged and low - merged[-1][1] <= MERGE_GAP_SECONDS:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    result = [(low, high) for low, high in merged]
    while len(encode_windows(result)) > limit and len(result) > 1:
        gaps = [result[i + 1][0] - result[i][1] for i in range(len(result) - 1)]
        i = gaps.index(min(gaps))
        result[i : i + 2] = [(result[i][0], result[i + 1][1])]
    return result


__all__ = ["CARRIED_TAG", "DEFAULT_LIST", "FLAG_DROPS_END_USER", "ORDER_CARRY", "follow_identities"]
