"""Counting every attempt an apply makes, on both sides of the wire.

``CountingApi`` records each logical call with the retries it took (the engine's side);
``count_attempts`` wraps the sandbox gateway so every request that reaches it - including those
whose connection is then dropped - is counted (the sandbox's side). Their agreement proves the
engine does all retrying itself, within its documented budget.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

import reconciler.engine
from reconciler.aws import Api, CallRecord, RetryPolicy
from reconciler.sandbox import Sandbox
from reconciler.sandbox.protocols import RawRequest, RawResponse

BUDGET = RetryPolicy()  # the documented budget (reconciler/aws.py)


@dataclass
class Ledger:
    calls: list[CallRecord] = field(default_factory=list)
    apis: list[Api] = field(default_factory=list)
    attempts: int = 0  # requests that reached the sandbox
    spikes: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def retries(self) -> int:
        return sum(api.retries_used for api in self.apis)


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, spike_rate: float = 0.0, seed: int = 0) -> Iterator[Ledger]:
    """Count logical calls and retries (engine side) and attempts (sandbox side).

    With ``spike_rate``, that share of requests first advances the sandbox's simulated clock by
    1-120 s: a latency spike as the sandbox experiences it (time-dependent state such as RAM
    associations and opt-out timestamps moves on).
    """
    ledger = Ledger()

    class CountingApi(Api):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            ledger.apis.append(self)
            self.listeners.append(ledger.calls.append)

    monkeypatch.setattr(reconciler.engine, "Api", CountingApi)
    gateway = sandbox.gateway
    original = gateway.handle
    rng = random.Random(seed)
    clock = sandbox.world.clock

    def handle(service: str, request: RawRequest) -> RawResponse:
        with ledger.lock:
            ledger.attempts += 1
            spike = rng.random() < spike_rate
        if spike and clock.simulated:
            ledger.spikes += 1
            clock.advance(rng.uniform(1, 120))
        try:
            response = original(service, request)
        except Exception as error:
            ledger.faults[type(error).__name__] = ledger.faults.get(type(error).__name__, 0) + 1
            raise
        if response.status >= 500 or b"Throttl" in response.body[:200]:
            kind = "5xx" if response.status >= 500 else "throttle"
            ledger.faults[kind] = ledger.faults.get(kind, 0) + 1
        return response

    gateway.handle = handle  # type: ignore[method-assign]
    try:
        yield ledger
    finally:
        gateway.handle = original  # type: ignore[method-assign]


def check_budget(ledger: Ledger) -> None:
    """Retries within the documented budget, and every attempt accounted for."""
    for call in ledger.calls:
        assert call.retries <= BUDGET.max_attempts - 1, f"{call.operation} retried {call.retries} times"
    for api in ledger.apis:
        assert api.retries_used <= BUDGET.run_budget
    # The sandbox saw exactly the engine's calls plus its retries: botocore retried nothing on its own.
    assert ledger.attempts == len(ledger.calls) + ledger.retries, (ledger.attempts, len(ledger.calls), ledger.retries)


def fake_sleep(_seconds: float) -> None:
    """Backoff and rate-limit waits cost nothing in these tests (the clock is simulated)."""
