"""Protective changes written while the areas are still being read.

An emergency block on 25 protect configurations needs 100 rule-set reads and 100 updates, each
at 1 request/s but on separate quotas: reading everything first and then writing takes 200 s,
writing each configuration's blocks as soon as its rule sets are read takes about 100 s. Likewise
numbers a pull request adds to an opt-out list can be written (10/s) while protect is still read.
Areas report such changes through ``Area.early_changes`` (PHASE_BLOCKS changes, opted-out number
additions: they depend on nothing else and stop messages rather than allow them); a writer thread
applies each batch when it may:

* only when nobody has to confirm first (``--auto-approve``, as the apply workflow runs on main),
  and never for a saved plan (``apply FILE``), whose contract is that nothing is written unless
  the whole area still has the fingerprint the reviewed plan was made from;
* only changes the guard passes on their own (a finding is raised by the full check later), and
  per list at most ``--max-additions`` opted-out numbers: the full check counts those written here
  with the rest, and refuses the apply when a list gets more.

Everything else waits for the full plan and the guard, all or nothing, as before. What the writer
could not write is planned again from the full read; what it wrote is skipped there (same key).
On a failure the writer stops and the apply reports it with every change not done.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable

import structlog

from reconciler import lanes
from reconciler.executor import Runner, run_changes
from reconciler.guard import GuardOptions, check, is_opt_out_addition
from reconciler.plan import Change, Plan
from reconciler.progress import Progress

log = structlog.get_logger("reconciler.apply")


class EarlyWriter:
    def __init__(
        self,
        runner: Runner,
        target: str,
        guard: GuardOptions,
        progress: Progress,
        clock: Callable[[], float],
        wait_until: Callable[[float], None],
        before_write: Callable[[], None] | None = None,
    ) -> None:
        self.runner = runner
        self.target = target
        self.guard = guard
        self.progress = progress
        self.clock = clock
        self.wait_until = wait_until
        self.before_write = before_write
        self.batches: queue.Queue[tuple[list[Change], float] | None] = queue.Queue()
        self.applied: list[Change] = []
        self.failed: Change | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._additions: Counter[str] = Counter()  # opted-out numbers let through, per guard scope

    # The reader's side -------------------------------------------------------------------------

    def report(self, changes: list[Change]) -> None:
        """Hand over a batch (from the reading thread; never blocks it)."""
        if changes:
            self.batches.put((list(changes), self.clock()))

    def close(self) -> None:
        self.batches.put(None)

    # The writer's side -------------------------------------------------------------------------

    def may_write(self, change: Change) -> bool:
        stub = Plan(target=self.target, changes=[change])
        if check(stub, [change], self.guard):
            return False
        if is_opt_out_addition(change):
            if self._additions[change.guard_scope] >= self.guard.max_additions:
                return False  # the rest waits for the full check, which counts these too
            self._additions[change.guard_scope] += 1
        return True

    def write(self) -> None:
        """Apply batches until :meth:`close`; after a failure, only drain."""
        while (item := lanes.get(self.batches)) is not None:
            changes, ready_at = item
            if self.failed is not None:
                continue
            self.wait_until(ready_at)  # not before the batch was read
            allowed = [c for c in changes if self.may_write(c)]
            if not allowed:
                continue
            self.progress.total += len(allowed)
            outcome = run_changes(self.runner, allowed, self.progress, self.before_write)
            with self._lock:
                self.applied.extend(outcome.applied)
            log.info("apply.early_writes", target=self.target, written=len(outcome.applied))
            if not outcome.ok:
                self.failed, self.error = outcome.failed, outcome.error


__all__ = ["EarlyWriter"]
