"""Taking, holding and releasing a target's lock.

    with target_lock(desired.target, backend, operation="apply", timeout=300) as lease:
        for change in plan.sorted_changes():
            lease.ensure_held()          # stop before the next write if the lock was lost
            area.apply(api, change)

While held, a daemon thread renews the lock every TTL/3, so a lock whose expiry has passed
belongs to a run that died (a killed CI runner); on the same host a dead holder's pid proves it
at once. Stale locks are broken with a conditional delete, never by overwriting.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from reconciler.cli import UserError
from reconciler.locking.backend import LockBackend, Token
from reconciler.locking.model import DEFAULT_TTL_SECONDS, LockHeldError, LockInfo, LockLostError, lock_key

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# Polling while another run holds the lock: start fast, back off to a modest ceiling.
_FIRST_POLL = 0.05
_MAX_POLL = 5.0
# Creating can fail because a lock exists and then find it gone (released in between);
# bound that loop so a flapping backend cannot spin forever.
_MAX_ATTEMPTS_WITHOUT_WAIT = 100


class Lease:
    """A held lock. ``ensure_held()`` raises :class:`LockLostError` once it is known to be lost."""

    def __init__(self, backend: LockBackend, info: LockInfo, token: Token, ttl: float, clock: Clock) -> None:
        self.backend = backend
        self.info = info
        self.token = token
        self.ttl = ttl
        self.clock = clock
        self.lost: str | None = None
        self.released = False
        self._mutex = threading.Lock()

    @property
    def id(self) -> str:
        return self.info.id

    def renew(self) -> None:
        with self._mutex:
            if self.lost or self.released:
                return
            renewed = self.info.renewed(self.clock(), self.ttl)
            try:
                token = self.backend.replace_if_unchanged(renewed, self.token)
            except Exception as error:  # a failed renewal is retried next beat; expiry is the backstop
                if self.clock() >= self.info.expires:
                    self.lost = f"could not renew it before it expired ({type(error).__name__})"
                return
            if token is None:
                self.lost = "it was force-unlocked or taken over by another run"
                return
            self.info, self.token = renewed, token

    def ensure_held(self) -> None:
        if self.lost is None and self.clock() >= self.info.expires:
            self.lost = "it expired without being renewed"
        if self.lost:
            raise LockLostError(self.info.target, self.lost)

    def release(self) -> bool:
        """Delete the lock if it is still ours; ``False`` if it had already been taken away."""
        with self._mutex:
            if self.released:
                return True
            self.released = True
            if self.lost:
                return False
            return self.backend.delete_if_unchanged(self.info.target, self.token)


def acquire(
    target: Any,
    backend: LockBackend,
    operation: str = "apply",
    timeout: float = 0.0,
    ttl: float = DEFAULT_TTL_SECONDS,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> Lease:
    """Take the lock, waiting up to ``timeout`` seconds for a live holder to release it."""
    key = lock_key(target)
    started = clock()
    poll = _FIRST_POLL
    spins = 0
    while True:
        info = LockInfo.new(key, operation, clock(), ttl)
        token = backend.create(info)
        if token is not None:
            return Lease(backend, info, token, ttl, clock)
        current = backend.read(key)
        now = clock()
        if current is None or (current[0] is None or current[0].is_stale(now)):
            # Gone already, unreadable, expired or its holder is dead: break it (only that exact
            # version) and try again at once.
            if current is not None:
                backend.delete_if_unchanged(key, current[1])
            spins += 1
            if spins <= _MAX_ATTEMPTS_WITHOUT_WAIT:
                continue
        holder = current[0] if current else None
        waited = now - started
        if waited >= timeout:
            raise LockHeldError(key, holder, now, waited)
        sleep(min(poll, timeout - waited))
        poll = min(poll * 2, _MAX_POLL)


@contextlib.contextmanager
def target_lock(
    target: Any,
    backend: LockBackend,
    operation: str = "apply",
    timeout: float = 0.0,
    ttl: float = DEFAULT_TTL_SECONDS,
    heartbeat: bool = True,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> Iterator[Lease]:
    """Hold the target's lock for the ``with`` block; always released on the way out."""
    lease = acquire(target, backend, operation, timeout, ttl, clock, sleep)
    stop = threading.Event()
    beat: threading.Thread | None = None
    if heartbeat:

        def renew_until_stopped() -> None:
            while not stop.wait(ttl / 3):
                lease.renew()

        beat = threading.Thread(target=renew_until_stopped, name=f"lock-heartbeat {lease.info.target}", daemon=True)
        beat.start()
    try:
        yield lease
    finally:
        stop.set()
        if beat is not None:
            beat.join()
        lease.release()


def force_unlock(target: Any, backend: LockBackend, lock_id: str) -> LockInfo | None:
    """Remove the target's lock if its id is ``lock_id``; the removed lock (``None`` if unreadable)."""
    key = lock_key(target)
    current = backend.read(key)
    if current is None:
        raise UserError(f"target {key} is not locked (nothing at {backend.location(key)})")
    info, token = current
    if info is not None and info.id != lock_id:
        raise UserError(
            f"target {key} is locked with a different id: {info.describe(time.time())}",
            hint="check that this is the lock you mean, then pass its id to --lock-id",
        )
    if info is None and lock_id != "unreadable":
        raise UserError(
            f"the lock at {backend.location(key)} is unreadable",
            hint=f"remove it with: reconciler force-unlock {key} --lock-id unreadable",
        )
    if not backend.delete_if_unchanged(key, token):
        raise UserError(f"the lock on target {key} changed while it was being removed", hint="run the command again")
    return info
