"""Pure diffs of the opt-out area: additive, exact, end-user opt-outs, masking, limits, prune."""

from __future__ import annotations

import json
import time

from reconciler.areas.opt_outs.area import (
    MAX_LISTS,
    LiveList,
    LiveOptOuts,
    OptOutsArea,
    Watermark,
    numbers_digest,
)
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.config.model import Desired, Target
from reconciler.costs import Strategy
from reconciler.plan import FLAG_BLOCKED

TARGET = Target("prod", "111122223333", "us-east-1")
ARN = "arn:aws:sms-voice:us-east-1:111122223333:opt-out-list/"
READ_ALL = Strategy("read-all", 1, 0, "test")


def desired(*specs: OptOutListSpec, prune: frozenset[str] = frozenset()) -> Desired:
    return Desired(TARGET, opt_out_lists=specs, prune=prune)


def spec(name: str, mode: str = "additive", numbers: tuple[str, ...] = ()) -> OptOutListSpec:
    return OptOutListSpec(name, mode, tuple(sorted(numbers)))  # type: ignore[arg-type]


def live_list(name: str, entries: dict[str, bool], strategy: Strategy = READ_ALL, mark: Watermark | None = None) -> LiveList:
    """A fully read list: number -> EndUserOptedOut."""
    return LiveList(
        name, ARN + name, strategy, mark, complete=True, entry_count=len(entries),
        present=frozenset(entries), end_user=frozenset(n for n, e in entries.items() if e),
    )


def live(*lists: LiveList, extra: tuple[str, ...] = ()) -> LiveOptOuts:
    names = {item.name: item.arn for item in lists} | {n: ARN + n for n in extra} | {"Default": ARN + "Default"}
    return LiveOptOuts(lists=names, read={item.name: item for item in lists})


def test_additive_adds_only_missing_numbers_and_leaves_others() -> None:
    want = desired(spec("m", numbers=("+12065550100", "+12065550101")))
    have = live(live_list("m", {"+12065550100": False, "+447700900123": False}))
    changes = OptOutsArea().diff(want, have)
    adds = [c for c in changes if c.action == "add"]
    assert [c.secret for c in adds] == ["+12065550101"]
    assert not [c for c in changes if c.action == "remove"]
    # the watermark follows the additions
    mark = [c for c in changes if c.resource_type == "opt-out-list-watermark"]
    assert len(mark) == 1 and mark[0].order > adds[0].order
    assert Watermark.parse(mark[0].secret or "") == Watermark(2, numbers_digest(want.opt_out_lists[0].numbers), 3)
    assert mark[0].after == {"numbers": 2, "live_entries": 3}
    # a digest of a few numbers can be brute-forced: it never enters what is serialised
    serialised = json.dumps([c.to_json() for c in changes])
    assert numbers_digest(want.opt_out_lists[0].numbers) not in serialised


def test_exact_removes_unlisted_numbers_but_never_end_user_opt_outs() -> None:
    want = desired(spec("m", "exact", ("+12065550100",)))
    have = live(live_list("m", {"+12065550100": False, "+12065550199": False, "+12065550777": True}))
    area = OptOutsArea()
    changes = area.diff(want, have)
    assert [(c.action, c.secret) for c in changes] == [("remove", "+12065550199")]
    assert changes[0].scope == "opt_outs/m"
    warnings = area.warnings(want, have)
    assert warnings == [
        "opt_outs/m: kept: end-user opt-out: 1 number(s) not in the policy are never removed (+1206555****)"
    ]


def test_exact_with_nothing_listed_keeps_end_user_opt_outs_only() -> None:
    want = desired(spec("m", "exact"))
    have = live(live_list("m", {"+12065550100": True, "+12065550101": False}))
    assert [c.secret for c in OptOutsArea().diff(want, have)] == ["+12065550101"]


def test_numbers_are_masked_in_everything_that_is_serialised() -> None:
    want = desired(spec("m", "exact", ("+12065550100", "+12065551100")))
    have = live(live_list("m", {"+12065559999": False}))
    changes = OptOutsArea().diff(want, have)
    text = json.dumps([c.to_json() for c in changes])
    for raw in ("+12065550100", "+12065551100", "+12065559999"):
        assert raw not in text
    keys = [c.key for c in changes]
    assert len(keys) == len(set(keys))  # numbers sharing a mask still get unique keys
    assert {c.secret for c in changes if c.secret} == {"+12065550100", "+12065551100", "+12065559999"}


def test_new_list_is_created_before_its_numbers_are_added() -> None:
    want = desired(spec("new", numbers=("+12065550100",)))
    changes = sorted(OptOutsArea().diff(want, live()), key=lambda c: c.sort_key())
    assert [(c.action, c.resource_type) for c in changes] == [
        ("create", "opt-out-list"),
        ("add", "opted-out-number"),
        ("update", "opt-out-list-watermark"),
    ]
    assert not changes[1].flags  # verified: the list does not exist yet


def test_more_than_25_lists_is_a_blocked_change_that_says_why() -> None:
    existing = tuple(f"old{i}" for i in range(MAX_LISTS - 2))  # + Default = 24 lists
    want = desired(*(spec(n) for n in existing), spec("a"), spec("b"))
    have = live(*(live_list(n, {}) for n in existing))
    changes = OptOutsArea().diff(want, have)
    creates = {c.key: c for c in changes if c.action == "create"}
    assert FLAG_BLOCKED not in creates["opt_outs/a"].flags
    assert FLAG_BLOCKED in creates["opt_outs/b"].flags
    assert "26 opt-out lists" in creates["opt_outs/b"].data["reason"]
    assert "allows 25 (Default included)" in creates["opt_outs/b"].data["reason"]


def test_lists_are_deleted_only_with_prune_and_never_default() -> None:
    want = desired(spec("keep"))
    have = live(live_list("keep", {}), extra=("stale",))
    area = OptOutsArea()
    assert area.diff(want, have) == []
    assert [u["name"] for u in area.unmanaged(want, have)] == ["stale"]
    pruning = desired(spec("keep"), prune=frozenset({"opt_outs"}))
    deletes = [c for c in area.diff(pruning, have) if c.action == "delete"]
    assert [c.key for c in deletes] == ["opt_outs/stale"]
    assert "deletion" in deletes[0].flags


def test_write_through_reports_unverified_additions() -> None:
    numbers = ("+12065550100", "+12065550101")
    strategy = Strategy("write-through", 0, 1, "1 numbers new since the last apply")
    item = LiveList("m", ARN + "m", strategy, Watermark(1, "0" * 64, 1000), unverified=("+12065550101",))
    changes = OptOutsArea().diff(desired(spec("m", numbers=numbers)), live(item))
    adds = [c for c in changes if c.action == "add"]
    assert [c.secret for c in adds] == ["+12065550101"]
    assert adds[0].flags == frozenset({"unverified"})
    assert "up to" in adds[0].summary
    mark = Watermark.parse(next(c.secret or "" for c in changes if c.resource_type == "opt-out-list-watermark"))
    assert mark is not None and mark.live_count == 1001


def test_watermark_strategy_means_no_changes() -> None:
    numbers = ("+12065550100",)
    mark = Watermark(1, numbers_digest(numbers), 1)
    item = LiveList("m", ARN + "m", Strategy("watermark", 0, 0, "unchanged"), mark)
    assert OptOutsArea().diff(desired(spec("m", numbers=numbers)), live(item)) == []


def test_watermark_encoding_round_trips_and_rejects_garbage() -> None:
    mark = Watermark(3, "a" * 64, None)
    assert Watermark.parse(mark.encode()) == mark
    assert len(mark.encode()) <= 256  # a tag value
    assert Watermark.parse("v2;count=1") is None
    assert Watermark.parse("v1;count=x;live=;sha256=" + "a" * 64) is None


def test_diffing_a_million_number_list_is_fast() -> None:
    numbers = [f"+1206{i:07d}" for i in range(1_000_000)]  # already sorted
    have = live(LiveList("big", ARN + "big", READ_ALL, complete=True, entry_count=999_000,
                         present=frozenset(numbers[:-1000])))
    want = desired(OptOutListSpec("big", "exact", tuple(numbers[1000:])))
    started = time.process_time()
    changes = OptOutsArea().diff(want, have)
    elapsed = time.process_time() - started
    assert sum(c.action == "add" for c in changes) == 1000
    assert sum(c.action == "remove" for c in changes) == 1000
    assert elapsed < 2.0, f"diff took {elapsed:.2f} s CPU"
