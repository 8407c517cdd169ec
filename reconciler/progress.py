"""Apply progress: a bar on a terminal, structured log events otherwise (CI)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

import structlog

from reconciler.plan import Change

log = structlog.get_logger("reconciler.apply")
WIDTH = 30


class Progress:
    # Several writers of one apply (blocks, opted-out additions, the executor's lanes) may report at
    # once: one line at a time on the shared terminal.
    _terminal = threading.Lock()

    def __init__(self, target: str, total: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.target = target
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.done = 0
        self.started = time.monotonic()

    def start(self, change: Change) -> None:
        if self.tty:
            filled = int(WIDTH * self.done / max(self.total, 1))
            bar = "#" * filled + "-" * (WIDTH - filled)
            with self._terminal:
                self.stream.write(f"\r\033[K[{bar}] {self.done}/{self.total} {change.key}"[:200])
                self.stream.flush()

    def finish(self, change: Change, outcome: str) -> None:
        self.done += 1
        if self.tty:
            if self.done == self.total or outcome != "ok":
                with self._terminal:
                    self.stream.write("\r\033[K")
                    self.stream.flush()
            return
        log.info(
            "apply.step",
            target=self.target,
            step=self.done,
            total=self.total,
            key=change.key,
            action=change.action,
            outcome=outcome,
            elapsed_s=round(time.monotonic() - self.started, 2),
        )
