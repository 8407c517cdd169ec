"""Deterministic concurrency on a simulated clock.

On a simulated clock (the sandbox's ``Clock(simulated=True)``: the benchmark and tests) each thread
keeps a time *lane* of its own. Threads left to run freely would reach shared things (a rate-limit
slot, a cached listing, a lock, a queue) in whatever order the machine's scheduler picks, and that
order would decide the simulated seconds: they would move with the load of the machine. A
:class:`Scheduler` runs the threads of a clock one at a time instead, as a discrete-event simulation:
the lane with the earliest simulated time runs (ties: in program order, a thread's own threads
before those its parent started after it) until it waits (a
simulated sleep, a lock, a queue, an event, another thread), so simulated time is a function of the
calls alone, and shared things are taken in simulated-time order.

The helpers below (:func:`start`, :class:`Lock`, :func:`get`, :func:`wait`) are what the product's
concurrent code uses: in a thread outside any scheduler (the wall clock: production, most tests)
they are the ordinary ``threading``/``queue`` primitives.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

READY, RUNNING, BLOCKED, DONE = "ready", "running", "blocked", "done"
_local = threading.local()


class DeadlockError(RuntimeError):
    """Every lane of a scheduler waits for another: nothing can ever run again."""


class Lane:
    """One thread's simulated time (``offset`` from the clock's base time) and scheduling state."""

    __slots__ = ("children", "deadlocked", "done", "id", "offset", "scheduler", "state", "turn", "until")

    def __init__(self, scheduler: Scheduler, lane_id: tuple[int, ...], offset: float, lock: threading.Lock) -> None:
        self.scheduler = scheduler
        self.turn = threading.Condition(lock)  # notified when this lane's turn comes
        # Program order, which breaks ties in simulated time: a lane's threads come right after it,
        # before the threads its parent started later (its parent's id, then its place among them).
        self.id = lane_id
        self.children = 0
        self.offset = offset
        self.state = READY
        self.until: Callable[[], bool] | None = None
        self.done = False
        self.deadlocked = False  # woken because nothing could ever wake it: it raises DeadlockError


def current_lane() -> Lane | None:
    """The calling thread's lane, or None outside any scheduler."""
    return getattr(_local, "lane", None)


class Scheduler:
    """Runs the lanes of one simulated clock one at a time, earliest simulated time first.

    A lane's time only moves in :meth:`sleep`, so whatever a lane changes between two waits (a
    lock released, a queue item put, a thread finished) happens at its current time; lanes waiting
    for that change are woken at that time (or their own, if later) when the lane next waits."""

    def __init__(self) -> None:
        self._cond = threading.Lock()  # guards the lanes' states; each lane waits on its own turn
        self._lanes: list[Lane] = []  # lanes not done, in the order they started
        self._running: Lane | None = None

    def adopt(self, offset: float = 0.0) -> Lane:
        """Make the calling thread this scheduler's running lane (the thread that starts the others)."""
        with self._cond:
            if self._running is not None:
                raise RuntimeError("another lane of this clock is running: adopt from the first thread only")
            lane = self._new((0,), offset)
            lane.state = RUNNING
            self._running = lane
        _local.lane = lane
        return lane

    def leave(self, lane: Lane) -> None:
        """The adopted thread stops being a lane (the lanes it started must have ended)."""
        self._finish(lane)
        _local.lane = None

    def _new(self, lane_id: tuple[int, ...], offset: float) -> Lane:
        lane = Lane(self, lane_id, offset, self._cond)
        self._lanes.append(lane)
        return lane

    # Waiting ---------------------------------------------------------------------------------

    def sleep(self, lane: Lane, seconds: float) -> None:
        """Advance ``lane`` by ``seconds`` and let every lane that is now earlier run first."""
        with self._cond:
            self._wake(lane.offset)
            lane.offset += seconds
            lane.state = READY
            self._switch(lane)

    def block(self, lane: Lane, until: Callable[[], bool]) -> None:
        """Wait until ``until()`` holds (it is checked each time the running lane waits)."""
        with self._cond:
            if until():
                return
            self._wake(lane.offset)
            lane.state, lane.until = BLOCKED, until
            self._switch(lane)

    def _wake(self, now: float) -> None:
        for lane in self._lanes:
            if lane.state == BLOCKED and lane.until is not None and lane.until():
                lane.state, lane.until = READY, None
                lane.offset = max(lane.offset, now)

    def _switch(self, lane: Lane | None) -> None:
        """Hand the run to the earliest ready lane; then (unless ``lane`` is None) wait for ours."""
        ready = [other for other in self._lanes if other.state == READY]
        blocked = [other for other in self._lanes if other.state == BLOCKED]
        if ready:
            chosen = min(ready, key=lambda other: (other.offset, other.id))
        elif blocked:  # every lane waits for another: one of them (the caller, if it waits) fails
            chosen = lane if lane is not None and lane.state == BLOCKED else min(blocked, key=lambda other: other.id)
            chosen.until, chosen.deadlocked = None, True
        else:
            self._running = None
            return
        chosen.state = RUNNING
        self._running = chosen
        chosen.turn.notify()
        if lane is not None:
            while self._running is not lane:
                lane.turn.wait()
            if lane.deadlocked:
                lane.deadlocked = False
                raise DeadlockError(f"{len(blocked)} simulated lane(s) wait for each other")

    def _finish(self, lane: Lane) -> None:
        with self._cond:
            lane.state, lane.done = DONE, True
            self._lanes.remove(lane)
            self._wake(lane.offset)
            if self._running is lane:
                self._switch(None)

    # Threads ---------------------------------------------------------------------------------

    def start(self, parent: Lane, target: Callable[[], None]) -> Started:
        """Start ``target`` in a thread whose lane begins at ``parent``'s time; it runs when its turn comes."""
        with self._cond:
            lane = self._new((*parent.id, parent.children), parent.offset)
            parent.children += 1

        def run() -> None:
            _local.lane = lane
            with self._cond:
                while self._running is not lane:
                    lane.turn.wait()
            try:
                target()
            finally:
                self._finish(lane)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return Started(thread, lane)


class Started:
    """A thread started by :func:`start`."""

    def __init__(self, thread: threading.Thread, lane: Lane | None) -> None:
        self.thread = thread
        self.lane = lane

    def join(self, wall_join: Callable[[threading.Thread], None] = threading.Thread.join) -> None:
        """Wait for the thread (``wall_join`` outside a scheduler, e.g. one that honours Ctrl-C)."""
        waiter = current_lane()
        if self.lane is not None and waiter is not None and waiter.scheduler is self.lane.scheduler:
            child = self.lane
            waiter.scheduler.block(waiter, lambda: child.done)
            self.thread.join()  # it only has to return from its last line now
        else:
            wall_join(self.thread)


def start(target: Callable[[], None]) -> Started:
    """Start ``target`` in a new thread: a lane of the caller's scheduler, or a plain daemon thread."""
    lane = current_lane()
    if lane is not None:
        return lane.scheduler.start(lane, target)
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return Started(thread, None)


class Lock:
    """``threading.Lock``; between lanes, handed to its waiters first come, first served (in
    simulated time), so a lane that releases and re-takes it cannot starve the others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: deque[Lane] = deque()
        self._granted: Lane | None = None

    def acquire(self) -> bool:
        lane = current_lane()
        if lane is None:
            return self._lock.acquire()
        if not self._waiters and self._lock.acquire(blocking=False):
            return True
        self._waiters.append(lane)
        lane.scheduler.block(lane, lambda: self._granted is lane)
        self._granted = None
        return True

    def release(self) -> None:
        if self._waiters:
            self._granted = self._waiters.popleft()  # stays locked: handed over
        else:
            self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: Any) -> None:
        self.release()


def get(source: queue.Queue[T]) -> T:
    """``source.get()``; a lane waits its turn instead of blocking the others."""
    lane = current_lane()
    if lane is None:
        return source.get()
    while True:
        try:
            return source.get_nowait()
        except queue.Empty:
            lane.scheduler.block(lane, lambda: not source.empty())


def wait(event: threading.Event) -> None:
    """``event.wait()``; a lane waits its turn instead of blocking the others."""
    lane = current_lane()
    if lane is None:
        event.wait()
    else:
        lane.scheduler.block(lane, event.is_set)


__all__ = ["DeadlockError", "Lane", "Lock", "Scheduler", "Started", "current_lane", "get", "start", "wait"]
