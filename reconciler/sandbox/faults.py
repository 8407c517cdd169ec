"""Injected faults and added latency, both off by default and reproducible from a seed.

Faults, drawn per request from one seeded generator (so a run with the same seed and the same
request order fails the same requests):

- ``throttle_rate``: ThrottlingException in the service's own envelope (retryable by SDKs);
- ``error_rate``: HTTP 500 InternalServerException (``ServerInternalException`` for RAM,
  ``InternalFailure`` for STS);
- ``drop_rate``: the connection closes before the request reaches the service (nothing changes);
- ``drop_after_rate``: the request is applied, then the connection closes before the response —
  the case that makes clients prove their writes are idempotent.

``operations`` limits faults to the named operations. Latency: ``seconds`` added to every request,
divided by ``time_scale``; on a simulated clock it advances only the caller's lane.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

THROTTLE = "throttle"
ERROR = "error"
DROP = "drop"
DROP_AFTER = "drop_after"


@dataclass
class Faults:
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    drop_after_rate: float = 0.0
    seed: int = 0
    operations: frozenset[str] | None = None
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        total = self.throttle_rate + self.error_rate + self.drop_rate + self.drop_after_rate
        if min(self.throttle_rate, self.error_rate, self.drop_rate, self.drop_after_rate) < 0 or total > 1:
            raise ValueError("fault rates must be non-negative and add up to at most 1")
        self._rng = random.Random(self.seed)

    def pick(self, operation: str) -> str | None:
        """The fault for this request, or ``None``."""
        if self.operations is not None and operation not in self.operations:
            return None
        with self._lock:
            draw = self._rng.random()
        for kind, rate in (
            (THROTTLE, self.throttle_rate),
            (ERROR, self.error_rate),
            (DROP, self.drop_rate),
            (DROP_AFTER, self.drop_after_rate),
        ):
            if draw < rate:
                return kind
            draw -= rate
        return None


@dataclass(frozen=True)
class Latency:
    """Fixed latency added to every request, in seconds of the world clock."""

    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("latency must be non-negative")


class ConnectionDropped(Exception):
    """The sandbox closes the connection without a response (an injected fault)."""
