"""The Api's concurrency helpers: parallel streams on a simulated clock, shared listings."""

from __future__ import annotations

import threading

import pytest
from engine_support import START, Harness, policy

from reconciler.aws import SMS_VOICE, Api, RateLimiter
from reconciler.engine import Engine
from reconciler.sandbox.state import Clock


def _api(clock: Clock) -> Api:
    return Api(session=None, region="us-east-1", sleep=clock.sleep, clock=clock.now)  # type: ignore[arg-type]


def test_parallel_tasks_wait_side_by_side_and_results_keep_their_order() -> None:
    clock = Clock(start=START, simulated=True)
    clock.sleep(5)  # the caller is 5 s into its lane: workers must start there, not at the base time
    api = _api(clock)
    started: list[float] = []
    lock = threading.Lock()

    def task(seconds: float) -> float:
        with lock:
            started.append(clock.now())
        clock.sleep(seconds)
        return seconds

    assert api.parallel([lambda: task(3), lambda: task(1), lambda: task(2)]) == [3, 1, 2]
    assert started == [START + 5] * 3
    assert clock.now() == START + 8  # the slowest task, not the sum


def test_parallel_raises_the_first_failure_in_task_order_after_all_tasks_end() -> None:
    api = _api(Clock(start=START, simulated=True))
    finished: list[str] = []

    def fail(name: str) -> None:
        finished.append(name)
        raise ValueError(name)

    with pytest.raises(ValueError, match="first"):
        api.parallel([lambda: fail("first"), lambda: fail("second"), lambda: finished.append("ok")])
    assert sorted(finished) == ["first", "ok", "second"]


def test_a_listing_is_read_once_per_run_until_something_is_written(harness: Harness) -> None:
    engine = harness.engine(policy())
    run = engine.start("prod")
    first = run.api.listing(SMS_VOICE, "DescribeOptOutLists", MaxResults=100)
    assert run.api.listing(SMS_VOICE, "DescribeOptOutLists", MaxResults=100) == first
    assert run.api.calls[f"{SMS_VOICE}.DescribeOptOutLists"] == 1
    # An opted-out number, a tag or a protect rule cannot change a listing: it stays cached.
    run.api.call(SMS_VOICE, "PutOptedOutNumber", OptOutListName="Default", OptedOutNumber="+12065550100")
    created = run.api.call(SMS_VOICE, "CreateProtectConfiguration")
    run.api.call(SMS_VOICE, "UpdateProtectConfigurationCountryRuleSet", ProtectConfigurationId=created["ProtectConfigurationId"],
                 NumberCapability="SMS", CountryRuleSetUpdates={"GH": {"ProtectStatus": "BLOCK"}})
    run.api.listing(SMS_VOICE, "DescribeOptOutLists", MaxResults=100)
    assert run.api.calls[f"{SMS_VOICE}.DescribeOptOutLists"] == 1
    run.api.call(SMS_VOICE, "CreateOptOutList", OptOutListName="fresh")
    again = run.api.listing(SMS_VOICE, "DescribeOptOutLists", MaxResults=100)
    assert run.api.calls[f"{SMS_VOICE}.DescribeOptOutLists"] == 2
    assert "fresh" in {item["OptOutListName"] for page in again for item in page["OptOutLists"]}


def test_the_engine_hands_its_clock_to_the_rate_limiter(harness: Harness) -> None:
    clock = Clock(start=START, simulated=True)
    engine = Engine(policy(), harness.engine(policy()).factory, rate_scale=1.0, sleep=clock.sleep, clock=clock.now)
    run = engine.start("prod")
    assert isinstance(run.api.limiter, RateLimiter)
    for _ in range(3):
        run.api.call(SMS_VOICE, "DescribeOptOutLists")
    assert clock.now() == pytest.approx(START + 2)  # 1/s: the 2nd and 3rd calls waited a slot each
