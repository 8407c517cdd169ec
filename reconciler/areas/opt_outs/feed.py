"""Opt-out lists' section of the drift feed (reconciler/drift_feed): which CloudTrail writes touch
which list entries, and how a baseline's lists are brought up to date with them (``REFRESHER``:
the area is never read whole by an incremental drift; reconciler/drift_feed/refresh.py).

A number written or deleted is one entry; a list created or deleted is that list (and the listing
of lists); a tag change is that list's watermark. Lists are patched one by one, so that a hundred
numbers written to a million-number list cost twenty lookups instead of ten thousand pages:

* a list read whole at the baseline (every entry kept): the touched numbers are looked up five at
  a time, the entry set is patched, and what the read would have kept (the listed numbers on the
  list, the end-user opt-outs, the entry count) is recomputed from it, for the policy as it is now;
* a list read by lookups: the touched numbers the policy lists are looked up again;
* a list created, deleted, or whose watermark changed the way a full read would read it, a list
  read by probing, and an ``exact`` list with touched entries (its carried entries depend on
  more than the entries), are read again whole.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from reconciler import costs
from reconciler.areas.base import Area
from reconciler.areas.opt_outs.area import (
    LiveList,
    LiveOptOuts,
    OptOutsArea,
    list_opt_out_lists,
    lookup,
    numbers_digest,
    read_watermark,
)
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.aws import Api
from reconciler.config.model import Desired
from reconciler.drift_feed.baseline import Baseline
from reconciler.drift_feed.events import FeedEvent
from reconciler.drift_feed.mapping import Touch, arn_parts, tagged
from reconciler.drift_feed.refresh import Refreshed, Refresher

NAME = "opt_outs"
# Touch kinds (``Touch.part`` is the list's name, ``Touch.item`` the raw number).
LIST = "list"  # re-read one list (created, deleted, or read another way)
LIST_TAGS = "list-tags"  # one list's tags (the watermark)
ENTRY = "entry"  # one opted-out number of one list


def _list_name(value: object) -> str:
    """OptOutListName accepts a name or an ARN; lists are keyed by name."""
    text = str(value or "")
    parts = arn_parts(text)
    return parts[2] if parts and parts[1] == "opt-out-list" else text


def list_digest(spec: OptOutListSpec) -> str:
    """What a list is read by: its mode and numbers (``Baseline.policy["list:<name>"]``)."""
    return f"{spec.mode}:{numbers_digest(spec.numbers)}"


def touches(event: FeedEvent) -> list[Touch] | None:
    params = event.params
    if event.name in ("PutOptedOutNumber", "DeleteOptedOutNumber"):
        return [Touch(NAME, ENTRY, _list_name(params.get("optOutListName")), str(params.get("optedOutNumber", "")))]
    if event.name in ("CreateOptOutList", "DeleteOptOutList"):
        return [Touch(NAME, LIST, _list_name(params.get("optOutListName")))]
    tags = tagged(event)
    if tags is not None and tags[:2] == ("sms-voice", "opt-out-list"):
        return [Touch(NAME, LIST_TAGS, tags[2])]
    return None


@dataclass
class ListsRefresh:
    live: LiveOptOuts
    entries: dict[str, frozenset[str]]
    reread: list[str] = field(default_factory=list)  # lists read again whole
    patched: dict[str, int] = field(default_factory=dict)  # list -> touched numbers looked up
    watermarks: list[str] = field(default_factory=list)  # lists whose watermark was read again
    lookups: int = 0

    def describe(self) -> str:
        parts = []
        if self.patched:
            numbers = sum(self.patched.values())
            parts.append(f"{numbers} touched number(s) in {len(self.patched)} list(s) looked up ({self.lookups} call(s))")
        if self.watermarks:
            parts.append(f"watermark of {', '.join(sorted(self.watermarks))} read again")
        if self.reread:
            parts.append(f"read again whole: {', '.join(sorted(self.reread))}")
        return "; ".join(parts) or "nothing touched: baseline kept"


class OptOutsRefresher(Refresher):
    """Lists are patched from the touched entries; each list's mode and numbers are digested apart,
    so a policy change to a list recomputes that list from its kept entries."""

    policy_fields: ClassVar[tuple[str, ...]] = ("opt_out_lists",)

    def policy_digests(self, desired: Desired) -> dict[str, str]:
        return {f"list:{spec.name}": list_digest(spec) for spec in desired.opt_out_lists}

    def keep(self, area: Area) -> None:
        assert isinstance(area, OptOutsArea)
        area.entries = {}  # every entry of each list read whole (area.py: _read_list)

    def kept(self, area: Area) -> dict[str, frozenset[str]]:
        assert isinstance(area, OptOutsArea)
        entries, area.entries = area.entries, None
        return entries if entries is not None else {}

    def refresh(self, api: Api, area: Area, desired: Desired, baseline: Baseline, touches: Sequence[Touch]) -> Refreshed:
        assert isinstance(area, OptOutsArea)
        result = refresh_opt_outs(api, area, desired, baseline, touches)
        return Refreshed(result.live, result.entries, result.describe())


REFRESHER = OptOutsRefresher()


def refresh_opt_outs(
    api: Api, area: OptOutsArea, desired: Desired, baseline: Baseline, touches: Iterable[Touch]
) -> ListsRefresh:
    base = baseline.lives[NAME]
    assert isinstance(base, LiveOptOuts)
    touched = list(touches)
    relisted = any(t.kind == LIST for t in touched)
    kept: dict[str, frozenset[str]] = baseline.kept.get(NAME) or {}
    result = ListsRefresh(
        LiveOptOuts(lists=list_opt_out_lists(api) if relisted else dict(base.lists), read={}),
        dict(kept),
    )
    live = result.live
    numbers: dict[str, set[str]] = defaultdict(set)
    for t in touched:
        if t.kind == ENTRY:
            numbers[t.part].add(t.item)
    retagged = {t.part for t in touched if t.kind == LIST_TAGS}
    listed_again = {t.part for t in touched if t.kind == LIST}
    reread: list[OptOutListSpec] = []
    for spec in sorted(desired.opt_out_lists, key=lambda s: s.name):
        arn = live.lists.get(spec.name)
        old = base.read.get(spec.name)
        if arn is None:
            result.entries.pop(spec.name, None)
            continue
        if old is None or old.arn != arn or spec.name in listed_again:
            reread.append(spec)
            continue
        item = _patch(api, spec, old, baseline, numbers.get(spec.name, set()), spec.name in retagged, result)
        if item is None:
            reread.append(spec)
        else:
            live.read[spec.name] = item
    area.entries = {}
    for spec in reread:
        result.entries.pop(spec.name, None)
        live.read[spec.name] = area._read_list(api, spec, live.lists[spec.name])
        result.reread.append(spec.name)
    result.entries.update(area.entries)
    area.entries = None
    result.entries = {name: entries for name, entries in result.entries.items() if name in live.read}
    return result


def _patch(
    api: Api, spec: OptOutListSpec, old: LiveList, baseline: Baseline, touched: set[str], retagged: bool,
    result: ListsRefresh,
) -> LiveList | None:
    """``old`` brought up to date, or None when only a whole read gives what a full drift would."""
    watermark = old.watermark
    if retagged and spec.mode == "additive":
        watermark = read_watermark(api, old.arn)
        result.watermarks.append(spec.name)
    strategy = costs.choose(spec.mode, "drift", len(spec.numbers), watermark.live_count if watermark else None, None)
    if strategy.kind != old.strategy.kind or strategy.kind == "probe":
        return None  # a full drift would read this list another way (or its pages decide what it sees)
    same_policy = baseline.policy.get(f"list:{spec.name}") == list_digest(spec)
    if strategy.kind in ("none", "watermark"):
        return dataclasses.replace(old, strategy=strategy, watermark=watermark)
    listed = frozenset(spec.numbers)
    if old.complete:
        entries = result.entries.get(spec.name)
        if entries is None or (spec.mode == "exact" and (touched or not same_policy)):
            return None
        found = _look_up(api, spec.name, old, strategy, touched, result)
        now = (entries - touched) | found.present
        result.entries[spec.name] = now
        return dataclasses.replace(
            old, strategy=strategy, watermark=watermark, entry_count=len(now),
            present=now if spec.mode == "exact" else now & listed,
            end_user=(old.end_user - touched) | found.end_user,
        )
    if not same_policy:
        return None  # looked-up lists hold only the numbers the policy listed then
    relevant = touched & listed
    found = _look_up(api, spec.name, old, strategy, relevant, result)
    return dataclasses.replace(
        old, strategy=strategy, watermark=watermark,
        present=(old.present - relevant) | found.present, end_user=(old.end_user - relevant) | found.end_user,
    )


def _look_up(api: Api, name: str, old: LiveList, strategy: costs.Strategy, numbers: set[str], result: ListsRefresh) -> LiveList:
    if not numbers:
        return LiveList(name, old.arn, strategy)
    found = lookup(api, name, old.arn, strategy, sorted(numbers))
    result.patched[name] = result.patched.get(name, 0) + len(numbers)
    result.lookups += found.calls
    return found


__all__ = ["ENTRY", "LIST", "LIST_TAGS", "REFRESHER", "ListsRefresh", "list_digest", "refresh_opt_outs", "touches"]
