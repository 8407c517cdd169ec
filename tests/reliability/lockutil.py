"""Helpers shared by the lock tests: a simulated clock and backends to run every test against."""

from __future__ import annotations

import threading


class FakeClock:
    """Simulated time: ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
