"""Ctrl-C, promptly and cleanly.

The first SIGINT sets a flag instead of raising wherever the main thread happens to be: no new
AWS call starts after it (:func:`check` raises :class:`Interrupted` in place of the call), waits
for a rate-limit slot or a retry end at once (:func:`sleep`), and calls already sent are answered
(an in-process sandbox never sees half a write). The main thread, waiting for worker threads,
waits at most GRACE seconds more and then abandons the calls still in flight: their outcome is
unknown, and since every change is idempotent the next run converges. Outside those waits (a
confirmation prompt, a lock wait) the main thread is interrupted at once. A second Ctrl-C
raises at once wherever the main thread is.

:class:`Interrupted` is a KeyboardInterrupt, so ``except Exception`` handlers (an executor lane
reporting a failed change) let it pass: it is not a failure of the change.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

GRACE = 0.6  # seconds the main thread waits for calls in flight after Ctrl-C

_requested = threading.Event()
_at: float | None = None
_shield = 0  # > 0 while the main thread waits for workers or a call's answer


class Interrupted(KeyboardInterrupt):
    """Ctrl-C was pressed: no new call is made."""


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise :class:`Interrupted` when Ctrl-C was pressed (before starting a call)."""
    if _requested.is_set():
        raise Interrupted


def sleep(seconds: float) -> None:
    """``time.sleep`` that ends (raising :class:`Interrupted`) as soon as Ctrl-C is pressed."""
    if seconds > 0 and _requested.wait(seconds):
        raise Interrupted
    check()


def request() -> None:
    """What Ctrl-C does (also for tests that interrupt without a signal)."""
    global _at
    if not _requested.is_set():
        _at = time.monotonic()
        _requested.set()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    if _requested.is_set():
        raise KeyboardInterrupt  # the second Ctrl-C: now
    request()
    if _shield == 0:
        raise Interrupted


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """In the main thread: a Ctrl-C inside only sets the flag (the code checks it after)."""
    global _shield
    main = threading.current_thread() is threading.main_thread()
    if main:
        _shield += 1
    try:
        yield
    finally:
        if main:
            _shield -= 1


def join(thread: threading.Thread) -> None:
    """Wait for ``thread``; in the main thread, at most GRACE seconds after Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        thread.join()
        return
    while thread.is_alive():
        if _requested.is_set() and _at is not None:
            left = _at + GRACE - time.monotonic()
            if left <= 0:
                return  # abandoned: a daemon thread, ended with the process
            thread.join(min(left, 0.05))
        else:
            thread.join(0.05)


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Install the Ctrl-C handler for one command (main thread only), and restore the old one."""
    global _at
    _requested.clear()
    _at = None
    if threading.current_thread() is not threading.main_thread():
        try:
            yield
        finally:
            _requested.clear()
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested.clear()  # the next command in this process (tests) starts afresh
