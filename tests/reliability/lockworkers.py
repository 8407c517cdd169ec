"""Worker processes for the multi-process lock races (module-level so ``spawn`` can import them)."""

from __future__ import annotations

import contextlib
import os
import random
import time
from pathlib import Path
from typing import Any

from reconciler.locking import LocalFileLockBackend, LockHeldError, LockInfo, acquire

TARGET = "123456789012/us-east-1"


def plant_stale_lock(backend: LocalFileLockBackend) -> None:
    """A lock left by a runner on another machine whose expiry has passed."""
    info = LockInfo.new(TARGET, "apply", time.time() - 7200, 60)
    info = LockInfo(**{**info.__dict__, "host": "gone-runner", "pid": 4242})
    assert backend.create(info) is not None


def race_rounds(worker: int, rounds: int, root: str, stale_first: bool, barrier: Any, results: Any) -> None:
    """Every round all workers try at once with no waiting: exactly one may win."""
    for round_no in range(rounds):
        backend = LocalFileLockBackend(Path(root) / f"round-{round_no}")
        if stale_first and worker == 0:
            plant_stale_lock(backend)
        barrier.wait()
        lease = None
        with contextlib.suppress(LockHeldError):
            lease = acquire(TARGET, backend, timeout=0)
        barrier.wait()  # everyone has tried before the winner lets go
        still_mine = False
        if lease is not None:
            current = backend.read(TARGET)
            still_mine = current is not None and current[0] is not None and current[0].id == lease.id
            lease.release()
        results.put((round_no, worker, lease is not None, still_mine))
        barrier.wait()


def exclusive_sections(worker: int, sections: int, root: str, seed: int, log: str) -> None:
    """Take the lock (waiting), then log enter/exit around a short random pause."""
    rng = random.Random(seed * 1000 + worker)
    backend = LocalFileLockBackend(Path(root))
    for _ in range(sections):
        lease = acquire(TARGET, backend, timeout=60)
        with open(log, "a", encoding="ascii") as handle:
            handle.write(f"enter {os.getpid()}\n")
            handle.flush()
            time.sleep(rng.uniform(0, 0.004))
            handle.write(f"exit {os.getpid()}\n")
        lease.release()
