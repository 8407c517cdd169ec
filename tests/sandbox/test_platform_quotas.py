"""Quotas on a simulated clock: throttling, waiting for a slot, parallel lanes and time scale."""

from __future__ import annotations

import threading

import pytest
from botocore.config import Config
from platform_support import OWNER, START

from reconciler.sandbox import Quotas, Sandbox
from reconciler.sandbox.quotas import default_rate
from reconciler.sandbox.state import Clock, World

SMS = "pinpoint-sms-voice-v2"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _sandbox(**quota_options) -> Sandbox:
    return Sandbox(World(Clock(start=START, simulated=True)), quotas=Quotas(**quota_options))


def test_default_rates_follow_aws():
    assert default_rate(SMS, "DescribeOptedOutNumbers") == 1.0
    assert default_rate(SMS, "UpdateProtectConfigurationCountryRuleSet") == 1.0
    assert default_rate(SMS, "PutOptedOutNumber") == default_rate(SMS, "DeleteOptedOutNumber") == 10.0


def test_throttle_mode_refuses_the_second_call_within_a_second():
    sandbox = _sandbox()
    sms = sandbox.session(OWNER).client(SMS, config=NO_RETRY)
    sms.describe_pools()
    with pytest.raises(sms.exceptions.ThrottlingException):
        sms.describe_pools()
    sms.describe_configuration_sets()  # another operation has its own bucket
    sandbox.world.clock.advance(1.0)
    sms.describe_pools()
    # Buckets are per account: another account is not throttled.
    sandbox.session("210987654321").client(SMS, config=NO_RETRY).describe_pools()


def test_put_opted_out_number_allows_ten_per_second():
    sandbox = _sandbox()
    sms = sandbox.session(OWNER).client(SMS, config=NO_RETRY)
    sms.create_opt_out_list(OptOutListName="burst")
    for index in range(10):
        sms.put_opted_out_number(OptOutListName="burst", OptedOutNumber=f"+1206555{index:04d}")
    with pytest.raises(sms.exceptions.ThrottlingException):
        sms.put_opted_out_number(OptOutListName="burst", OptedOutNumber="+12065559999")


def test_wait_mode_advances_simulated_time_instead_of_failing():
    sandbox = _sandbox(mode="wait")
    sms = sandbox.session(OWNER).client(SMS, config=NO_RETRY)
    for _ in range(10):
        sms.describe_pools()
    # Ten 1/s calls: the first is free, each next one waits a second.
    assert sandbox.world.clock.now() == pytest.approx(START + 9.0)
    assert all(call.error is None for call in sandbox.calls)


def test_time_scale_keeps_ratios():
    sandbox = Sandbox(World(Clock(start=START, simulated=True)), quotas=Quotas(mode="wait"), time_scale=10.0)
    sms = sandbox.session(OWNER).client(SMS, config=NO_RETRY)
    for _ in range(11):
        sms.describe_pools()
    assert sandbox.world.clock.now() == pytest.approx(START + 1.0)


def test_parallel_callers_wait_in_parallel_on_separate_buckets_and_queue_on_a_shared_one():
    clock = Clock(start=START, simulated=True)
    quotas = Quotas(mode="wait")
    finished: dict[str, float] = {}

    def worker(name: str, operation: str) -> None:
        for _ in range(5):
            quotas.acquire(clock, OWNER, "us-east-1", SMS, operation)
        finished[name] = clock.now()

    threads = [
        threading.Thread(target=worker, args=("pools", "DescribePools")),
        threading.Thread(target=worker, args=("lists", "DescribeOptOutLists")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert finished == {"pools": pytest.approx(START + 4.0), "lists": pytest.approx(START + 4.0)}
    assert clock.latest() == pytest.approx(START + 4.0)

    shared_clock = Clock(start=START, simulated=True)
    shared = Quotas(mode="wait")
    ends: list[float] = []

    def same_operation() -> None:
        for _ in range(5):
            shared.acquire(shared_clock, OWNER, "us-east-1", SMS, "DescribePools")
        ends.append(shared_clock.now())

    threads = [threading.Thread(target=same_operation) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Ten calls through one 1/s bucket end at +9 s, whichever lane makes the last one.
    assert max(ends) == pytest.approx(START + 9.0)


def test_overrides_and_bad_settings():
    quotas = Quotas(rates={"DescribePools": 5.0, "ram:ListResources": 2.0})
    assert quotas.rate(SMS, "DescribePools") == 5.0
    assert quotas.rate("ram", "ListResources") == 2.0
    assert quotas.rate("ram", "GetResourceShares") == default_rate("ram", "GetResourceShares")
    with pytest.raises(ValueError):
        Quotas(mode="sometimes")
