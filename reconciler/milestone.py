"""A moment one reader reaches that other readers wait for, on the wall or a simulated clock."""

from __future__ import annotations

import threading
from collections.abc import Callable

from reconciler import lanes


class Milestone:
    """Set once (``reach``); ``wait`` blocks until then and, on a simulated clock, brings the
    waiting thread's time up to the moment it was reached (threads keep time lanes of their own)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._at = 0.0

    def reach(self, at: float) -> None:
        if not self._event.is_set():
            self._at = at
            self._event.set()

    @property
    def reached(self) -> bool:
        return self._event.is_set()

    def wait(self, wait_until: Callable[[float], None]) -> None:
        """Block until reached, then ``wait_until`` (``Api.wait_until``) the moment it was reached."""
        lanes.wait(self._event)
        wait_until(self._at)


__all__ = ["Milestone"]
