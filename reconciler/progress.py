"""Progress where someone is watching, structured events where something is logging.

On a terminal (stderr a TTY, not TERM=dumb) one live line on stderr, redrawn in place: the
apply bar, and while areas are read a line counting the reads (:class:`ReadProgress`). It is
cleared before a report is printed and never redrawn after Ctrl-C, so it cannot cover a summary.
Without a terminal (CI): ``apply.step`` and ``read.progress`` log events, throttled by time so a
long run logs a line every PERIOD seconds rather than one per change or page.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

import structlog

from reconciler import interrupt
from reconciler.aws import READ_PREFIXES, CallRecord
from reconciler.plan import Change
from reconciler.report.mask import mask_text
from reconciler.terminal import live

log = structlog.get_logger("reconciler.apply")
WIDTH = 30
REDRAW_EVERY = 0.2  # seconds between redraws of a live line
PERIOD = 15.0  # seconds between progress events without a terminal


class LiveLine:
    """The one redrawn line on stderr, shared by every writer (threads of one run report at once)."""

    lock = threading.Lock()
    drawn = False  # something is on the line now
    bar_at = 0.0  # when the apply bar last drew (the read line yields to it)

    @classmethod
    def show(cls, stream: TextIO, text: str) -> None:
        with cls.lock:
            if interrupt.requested():
                return  # never over the interrupted summary
            stream.write(f"\r\033[K{text}"[:200])
            stream.flush()
            cls.drawn = True

    @classmethod
    def clear(cls, stream: TextIO | None = None) -> None:
        with cls.lock:
            if cls.drawn:
                out = stream or sys.stderr
                out.write("\r\033[K")
                out.flush()
                cls.drawn = False


def clear_live_line() -> None:
    """Before a report or a message: take the progress line away."""
    LiveLine.clear()


class Progress:
    """Apply progress: a bar on a terminal, throttled ``apply.step`` events otherwise."""

    def __init__(self, target: str, total: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.target = target
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = live(self.stream) if tty is None else tty
        self.done = 0
        self.started = time.monotonic()
        self.logged_at = float("-inf")

    def start(self, change: Change) -> None:
        if self.tty:
            filled = int(WIDTH * self.done / max(self.total, 1))
            bar = "#" * filled + "-" * (WIDTH - filled)
            # Keys are masked as in the plan: the same number reads the same in both.
            LiveLine.show(self.stream, f"[{bar}] {self.done}/{self.total} {mask_text(change.key)}")
            LiveLine.bar_at = time.monotonic()

    def finish(self, change: Change, outcome: str) -> None:
        self.done += 1
        if self.tty:
            if self.done == self.total or outcome != "ok":
                LiveLine.clear(self.stream)
            return
        now = time.monotonic()
        if outcome == "ok" and self.done not in (1, self.total) and now - self.logged_at < PERIOD:
            return
        self.logged_at = now
        log.info(
            "apply.step",
            target=self.target,
            step=self.done,
            total=self.total,
            key=change.key,
            action=change.action,
            outcome=outcome,
            elapsed_s=round(now - self.started, 2),
        )


class ReadProgress:
    """Counts a target's reads (an Api listener): a live line on a terminal, a ``read.progress``
    event every PERIOD seconds otherwise."""

    def __init__(self, target: str, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.target = target
        self.stream = stream or sys.stderr
        self.tty = live(self.stream) if tty is None else tty
        self.calls = 0
        self.started = time.monotonic()
        self.shown_at = self.started
        self.lock = threading.Lock()

    def __call__(self, record: CallRecord) -> None:
        if not record.operation.startswith(READ_PREFIXES):
            return
        with self.lock:
            self.calls += 1
            now = time.monotonic()
            if now - self.shown_at < (REDRAW_EVERY if self.tty else PERIOD):
                return
            self.shown_at = now
            calls, elapsed = self.calls, now - self.started
        if not self.tty:
            log.info("read.progress", target=self.target, calls=calls, elapsed_s=round(elapsed))
        elif now - LiveLine.bar_at > 1.0:
            LiveLine.show(self.stream, f"Reading {self.target}: {calls:,} read call{'' if calls == 1 else 's'}, {elapsed:.0f} s (Ctrl-C stops)")
