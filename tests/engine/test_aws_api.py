"""The AWS gateway: per-operation rate limits, retries with backoff, call counting, safe logging."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.aws import Api, RateLimiter, RetryPolicy, is_retryable
from reconciler.logs import configure
from reconciler.sandbox import Faults, Sandbox

ACCOUNT = "111122223333"
SMS = "pinpoint-sms-voice-v2"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_rate_limiter_spaces_calls_per_operation_at_the_declared_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter({(SMS, "PutOptedOutNumber"): 10.0}, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire(SMS, "DescribeOptedOutNumbers")  # undeclared: 1 per second
    assert clock.sleeps == [1.0, 1.0]
    clock.sleeps.clear()
    for _ in range(3):
        limiter.acquire(SMS, "PutOptedOutNumber")
    assert clock.sleeps == [0.1, 0.1]
    # STS is not limited; scale 0 disables limiting.
    clock.sleeps.clear()
    for _ in range(3):
        limiter.acquire("sts", "GetCallerIdentity")
    assert clock.sleeps == []
    fast = RateLimiter({}, scale=0, clock=clock, sleep=clock.sleep)
    fast.acquire(SMS, "X")
    fast.acquire(SMS, "X")
    assert clock.sleeps == []


def test_rate_scale_runs_quotas_faster_keeping_their_ratio() -> None:
    clock = FakeClock()
    limiter = RateLimiter({(SMS, "PutOptedOutNumber"): 10.0}, scale=100, clock=clock, sleep=clock.sleep)
    limiter.acquire(SMS, "PutOptedOutNumber")
    limiter.acquire(SMS, "PutOptedOutNumber")
    limiter.acquire(SMS, "DescribePools")
    limiter.acquire(SMS, "DescribePools")
    assert clock.sleeps == [0.001, 0.01]


def test_throttling_is_retried_with_backoff_and_counted_once() -> None:
    sandbox = Sandbox(faults=Faults(throttle_rate=0.5, seed=3))
    sleeps: list[float] = []
    api = Api(sandbox.session(ACCOUNT), "us-east-1", sleep=sleeps.append)
    for _ in range(10):
        api.call(SMS, "DescribePools")
    throttled = [c for c in sandbox.calls if c.error]
    assert throttled, "the fault seed must throttle some calls"
    assert api.calls == {f"{SMS}.DescribePools": 10}
    assert api.retries_used == len(throttled) == len(sleeps)
    assert all(0 <= s <= RetryPolicy().cap for s in sleeps)


def test_retry_budget_ends_a_hopeless_call() -> None:
    sandbox = Sandbox(faults=Faults(throttle_rate=1.0))
    sleeps: list[float] = []
    api = Api(sandbox.session(ACCOUNT), "us-east-1", retry=RetryPolicy(max_attempts=4), sleep=sleeps.append)
    with pytest.raises(ClientError) as excinfo:
        api.call(SMS, "DescribePools")
    assert excinfo.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(sandbox.calls) == 4 and len(sleeps) == 3
    # Exponential ceilings: 0.5, 1, 2 seconds (full jitter below them).
    assert all(s <= ceiling for s, ceiling in zip(sleeps, (0.5, 1.0, 2.0), strict=True))


def test_client_errors_are_not_retried() -> None:
    sandbox = Sandbox()
    api = Api(sandbox.session(ACCOUNT), "us-east-1", sleep=lambda _: None)
    with pytest.raises(ClientError) as excinfo:
        api.call(SMS, "DescribePools", PoolIds=["pool-" + "0" * 32])
    assert not is_retryable(excinfo.value)
    assert len(sandbox.calls) == 1


def test_debug_log_has_operation_latency_retries_and_no_full_numbers_or_secrets() -> None:
    stream = io.StringIO()
    configure("json", verbosity=1, stream=stream)
    sandbox = Sandbox()
    api = Api(sandbox.session(ACCOUNT), "us-east-1", sleep=lambda _: None)
    api.call(SMS, "CreateOptOutList", OptOutListName="marketing")
    api.call(SMS, "PutOptedOutNumber", OptOutListName="marketing", OptedOutNumber="+12065550123")
    events: list[dict[str, Any]] = [json.loads(line) for line in stream.getvalue().splitlines()]
    put = next(e for e in events if e.get("operation") == "PutOptedOutNumber")
    assert put["event"] == "aws.call" and put["level"] == "debug"
    assert put["retries"] == 0 and put["outcome"] == "ok" and isinstance(put["latency_ms"], float)
    text = stream.getvalue()
    assert "+1206555****" in text and "+12065550123" not in text
    assert "sandbox-secret-access-key" not in text and ACCOUNT not in text
    configure("console", 0)


def test_an_operation_no_area_declares_is_refused_before_it_reaches_aws() -> None:
    """The IAM policy is generated from the areas' declarations: an undeclared call would be
    denied in production, so it is refused here, in tests, before anything is sent."""
    from reconciler.aws import UndeclaredOperationError

    sandbox = Sandbox()
    api = Api(sandbox.session(ACCOUNT), "us-east-1", sleep=lambda _: None)
    with pytest.raises(UndeclaredOperationError, match="ReleasePhoneNumber is not declared"):
        api.call(SMS, "ReleasePhoneNumber", PhoneNumberId="phone-" + "0" * 32)
    assert sandbox.calls == []
    assert api.call("sts", "GetCallerIdentity")["Account"] == ACCOUNT
