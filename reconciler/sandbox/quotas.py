"""API request-rate quotas: one token bucket per (account, region, service, operation).

Off by default. Rates are AWS's published defaults (requests per second, per account and Region):

- pinpoint-sms-voice-v2: 1/s for every operation (the AWS End User Messaging SMS quota table),
  except ``PutOptedOutNumber`` and ``DeleteOptedOutNumber`` at 10/s and ``SendTextMessage`` at 20/s
  (assumption: the table's send rates are per-origination-identity MPS, not an API quota; 20/s is
  the documented default for the send APIs and is only reached by load tests).
- ram: 5/s for every operation (assumption: RAM publishes no per-operation rates; 5/s is a
  conservative figure below what the RAM console itself issues).
- cloudtrail: 2/s for ``LookupEvents`` ("limited to two per second, per account, per Region",
  CloudTrail API Reference, LookupEvents).
- sts: 600/s (STS's documented account-wide default for AssumeRole-class calls).

Each bucket holds one second's worth of tokens (at least one), so a 1/s operation admits a single
request and then one per second. Implementation: the generic cell rate algorithm (virtual
scheduling) — each bucket keeps the *theoretical arrival time* of the next request, so it needs no
timer and works with a simulated :class:`~reconciler.sandbox.state.Clock`.

Modes: ``throttle`` answers ThrottlingException immediately (AWS's behaviour); ``wait`` makes the
request wait for its slot (on a simulated clock the wait advances only the caller's lane, see
``Clock.sleep``), which is how a benchmark measures quota-bound time without retries.

``time_scale`` N multiplies every rate by N (and latency.py divides added latency by N), so a
benchmark runs N× faster while every ratio between operations is kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from reconciler.sandbox.registry import CLOUDTRAIL, RAM, SMS_VOICE, STS
from reconciler.sandbox.state import Clock

SMS_VOICE_DEFAULT_RATE = 1.0
SMS_VOICE_RATES = {"PutOptedOutNumber": 10.0, "DeleteOptedOutNumber": 10.0, "SendTextMessage": 20.0}
SERVICE_DEFAULT_RATES = {SMS_VOICE: SMS_VOICE_DEFAULT_RATE, RAM: 5.0, STS: 600.0, CLOUDTRAIL: 2.0}

THROTTLE = "throttle"
WAIT = "wait"


def default_rate(service: str, operation: str) -> float:
    """AWS's default requests per second for one operation."""
    if service == SMS_VOICE:
        return SMS_VOICE_RATES.get(operation, SMS_VOICE_DEFAULT_RATE)
    return SERVICE_DEFAULT_RATES.get(service, 1.0)


@dataclass
class Quotas:
    """Per-operation rate limits. ``rates`` overrides defaults: ``{"DescribeOptedOutNumbers": 5.0}``
    or ``{"ram:ListResources": 2.0}``; ``mode`` is ``throttle`` or ``wait``."""

    rates: dict[str, float] = field(default_factory=dict)
    mode: str = THROTTLE
    time_scale: float = 1.0
    _next: dict[tuple[str, str, str, str], float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in (THROTTLE, WAIT):
            raise ValueError(f"quota mode must be {THROTTLE!r} or {WAIT!r}, not {self.mode!r}")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")

    def rate(self, service: str, operation: str) -> float:
        base = self.rates.get(
            f"{service}:{operation}", self.rates.get(operation, default_rate(service, operation))
        )
        return base * self.time_scale

    def acquire(self, clock: Clock, account: str, region: str, service: str, operation: str) -> bool:
        """Take a token. ``False`` means throttled (throttle mode); wait mode always returns ``True``."""
        rate = self.rate(service, operation)
        if rate <= 0:
            return False
        interval = 1.0 / rate
        tolerance = (max(1.0, rate) - 1.0) * interval  # burst of one second's worth
        key = (account, region, service, operation)
        now = clock.now()
        with self._lock:
            arrival = max(self._next.get(key, now), now)
            wait = arrival - tolerance - now
            if wait > 1e-9 and self.mode == THROTTLE:
                return False
            self._next[key] = arrival + interval
        if wait > 1e-9:
            clock.sleep(wait)
        return True
