"""Run the changes of an apply: dependency ranks in order, areas of one rank side by side.

Changes carry a dependency rank (``Change.phase``, ``Change.order``: :mod:`reconciler.plan`); a
rank starts only when every change of the ranks before it has succeeded. Inside a rank, each
area's changes run in key order in a lane of their own (an area may rely on key order, e.g. the
emergency record is written before the block it records; membership changes, independent of each
other, are spread over MEMBER_LANES lanes), and the lanes of different areas run
concurrently: AWS's quotas are per operation and areas call different operations, so a rank takes
as long as its slowest area instead of the sum (the example policy's first apply: 350
``PutOptedOutNumber`` at 10/s no longer wait for the rule-set, phone-number and sender-ID updates).

On the first failure every lane stops before its next change; the failed change and everything
not done are reported, and the next run converges because every change is idempotent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Protocol

from reconciler.plan import ORDER_MEMBERS_ADD, ORDER_MEMBERS_REMOVE, Change
from reconciler.progress import Progress
from reconciler.report.mask import mask_text

# Membership changes (opted-out numbers, number overrides) are independent of each other, and
# their quotas (10/s for Put/DeleteOptedOutNumber) outrun one caller at 100 ms or more of latency:
# an area's members of one rank are spread over this many lanes.
MEMBER_RANKS = frozenset({ORDER_MEMBERS_ADD, ORDER_MEMBERS_REMOVE})
MEMBER_LANES = 4


class Runner(Protocol):
    """What the executor needs of a target run: apply one change, and run lanes concurrently."""

    def apply_one(self, change: Change) -> None: ...

    def parallel(self, tasks: Sequence[Callable[[], None]]) -> list[None]: ...


class Outcome:
    """What happened to the changes handed to :func:`run_changes`."""

    def __init__(self) -> None:
        self.applied: list[Change] = []
        self.failed: Change | None = None
        self.error: str | None = None
        self.not_done: list[Change] = []

    @property
    def ok(self) -> bool:
        return self.failed is None


def rank(change: Change) -> tuple[int, int]:
    return (change.phase, change.order)


def run_changes(
    runner: Runner,
    changes: Sequence[Change],
    progress: Progress,
    before_write: Callable[[], None] | None = None,
) -> Outcome:
    """Apply ``changes`` rank by rank, areas of a rank concurrently; stop at the first failure."""
    outcome = Outcome()
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[tuple[Change, str]] = []

    def lane(items: list[Change]) -> None:
        for change in items:
            if stop.is_set():
                return
            with lock:
                progress.start(change)
            try:
                if before_write is not None:
                    before_write()
                runner.apply_one(change)
            except Exception as error:  # reported with what was and was not done, never lost
                message = mask_text(f"{type(error).__name__}: {error}")
                with lock:
                    progress.finish(change, "failed")
                    failures.append((change, message))
                stop.set()
                return
            with lock:
                progress.finish(change, "ok")
                outcome.applied.append(change)

    ordered = sorted(changes, key=Change.sort_key)
    for (_, order), wave_items in groupby(ordered, key=rank):
        wave = list(wave_items)
        lanes: list[list[Change]] = []
        for _, items in groupby(sorted(wave, key=lambda c: (c.area, c.sort_key())), key=lambda c: c.area):
            area_lane = list(items)
            if order in MEMBER_RANKS and len(area_lane) > 1:
                lanes.extend(area_lane[i::MEMBER_LANES] for i in range(min(MEMBER_LANES, len(area_lane))))
            else:
                lanes.append(area_lane)
        runner.parallel([lambda items=items: lane(items) for items in lanes])  # type: ignore[misc]
        if failures:
            break
    if failures:
        outcome.failed, outcome.error = min(failures, key=lambda item: item[0].sort_key())
        done = {c.key for c in outcome.applied} | {outcome.failed.key}  # another lane's failure is "not done"
        outcome.not_done = [c for c in ordered if c.key not in done]
    outcome.applied.sort(key=Change.sort_key)
    return outcome


__all__ = ["Outcome", "Runner", "rank", "run_changes"]
