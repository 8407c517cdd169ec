"""Concurrency on the sandbox's simulated clock.

``Clock(simulated=True)`` keeps one time *lane* per thread: waits (latency, quota slots) advance
only the waiting thread's lane, so threads wait in parallel as real connections do. A new thread's
lane starts at the clock's base time, not at its parent's, so work fanned out to threads must first
catch its lane up with the parent's, and the parent must afterwards wait for the slowest child.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from reconciler import lanes
from reconciler.sandbox.state import Clock


def catch_up(clock: Clock, when: float) -> None:
    """Move the calling thread's lane forward to ``when`` (no-op if it is already there)."""
    lag = when - clock.now()
    if lag > 0:
        clock.sleep(lag)


def in_parallel(clock: Clock, tasks: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``tasks`` in one thread each, all starting at the caller's simulated time; the caller
    resumes when the last one ends (in simulated time). Exceptions are re-raised in the caller."""
    if not tasks:
        return []
    start = clock.now()
    results: list[Any] = [None] * len(tasks)
    ends: list[float] = [start] * len(tasks)
    errors: list[BaseException] = []

    def lane(index: int, task: Callable[[], Any]) -> None:
        catch_up(clock, start)
        try:
            results[index] = task()
        except BaseException as error:  # surfaced in the caller below
            errors.append(error)
        ends[index] = clock.now()

    threads = [lanes.start(partial(lane, i, t)) for i, t in enumerate(tasks)]  # scheduled: see Clock.run_lanes
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    catch_up(clock, max(ends))
    return results
