"""The quota budget: ``--quota-share`` / ``targets[].quota_share`` leaves the rest of each API
quota to the account's applications, in plan, drift and apply; an emergency's block phase may
use the whole quota; the adaptive limiter still slows down on throttling."""

from __future__ import annotations

import dataclasses
from typing import Any

from engine_support import Harness, policy

from reconciler.apply import ApplyOptions, apply_target
from reconciler.aws import RateLimiter, SandboxSessionFactory
from reconciler.config.model import (
    CapabilityRules,
    EmergencyBlock,
    OptOutListSpec,
    Policy,
    ProtectConfigurationSpec,
)
from reconciler.engine import Engine
from reconciler.guard import GuardOptions

SMS = "pinpoint-sms-voice-v2"
RULES = "UpdateProtectConfigurationCountryRuleSet"


def test_a_share_scales_every_rate_and_the_block_phase_may_use_the_whole_quota() -> None:
    limiter = RateLimiter({(SMS, "DescribeOptedOutNumbers"): 1.0, (SMS, RULES): 1.0}, share=0.25)
    assert limiter.rate(SMS, "DescribeOptedOutNumbers") == 0.25
    limiter.use_whole_quota([(SMS, RULES)])
    assert limiter.rate(SMS, RULES) == 1.0 and limiter.rate(SMS, "DescribeOptedOutNumbers") == 0.25
    limiter.throttled(SMS, RULES)  # the adaptive decrease stays
    assert limiter.rate(SMS, RULES) == 0.7
    limiter.use_whole_quota([(SMS, RULES)], whole=False)
    assert limiter.rate(SMS, RULES) == 0.7 * 0.25


def engine(harness: Harness, p: Policy, command: str = "plan", share: float | None = None) -> Engine:
    clock = harness.sandbox.world.clock
    made = Engine(p, SandboxSessionFactory(harness.sandbox), rate_scale=1.0, sleep=clock.sleep, clock=clock.now,
                  command=command)
    made.quota_share = share
    return made


def lists_policy(share: float | None = None) -> Policy:
    p = policy(opt_out_lists=(OptOutListSpec("big", "exact", tuple(f"+1206555{n:04d}" for n in range(30))),))
    target = dataclasses.replace(p.targets["prod"], quota_share=share)
    return Policy(p.config_dir, {"prod": target}, {"prod": dataclasses.replace(p.desired["prod"], target=target)})


def read_seconds(harness: Harness, p: Policy, command: str, share: float | None = None) -> float:
    clock = harness.sandbox.world.clock
    started = clock.latest()
    made = engine(harness, p, command, share)
    made.plan(made.start("prod"))
    return clock.latest() - started


def test_plan_and_drift_take_twice_as_long_at_half_the_quota() -> None:
    harness = Harness()
    assert harness.apply(lists_policy()).ok
    state = harness.state()
    from reconciler.sandbox.state import OptOutEntry

    for n in range(1000):  # 10 pages at 1 request/s
        state.opt_out_lists["big"].entries.setdefault(f"+1206556{n:04d}", OptOutEntry(0.0, False))
    for command in ("plan", "drift"):
        whole = read_seconds(harness, lists_policy(), command)
        half_from_policy = read_seconds(harness, lists_policy(share=0.5), command)
        half_from_cli = read_seconds(harness, lists_policy(share=0.9), command, share=0.5)  # --quota-share wins
        assert whole >= 9
        assert 1.9 * whole <= half_from_policy <= 2.1 * whole
        assert 1.9 * whole <= half_from_cli <= 2.1 * whole


def test_an_emergency_apply_blocks_at_the_whole_quota_and_reads_the_rest_at_its_share() -> None:
    harness = Harness()
    main = ProtectConfigurationSpec(name="main", rules={"SMS": CapabilityRules("ALLOW", {})}, account_default=True)
    assert harness.apply(policy(protect_configurations=(main,))).ok
    blocked = policy(protect_configurations=(main,), emergency_blocks=(EmergencyBlock("GH", ("SMS",)),),
                     opt_out_lists=(OptOutListSpec("other", "additive", ("+12065550100",)),))
    made = engine(harness, blocked, "apply", share=0.5)
    rates: dict[str, list[float]] = {}
    original = RateLimiter.acquire

    def acquire(self: RateLimiter, service: str, operation: str) -> Any:
        rates.setdefault(operation, []).append(self.rate(service, operation) or 0.0)
        return original(self, service, operation)

    RateLimiter.acquire = acquire  # type: ignore[method-assign]
    try:
        result = apply_target(made, "prod", ApplyOptions(guard=GuardOptions()))
    finally:
        RateLimiter.acquire = original  # type: ignore[method-assign]
    assert result.ok
    assert rates[RULES] == [1.0]  # the block: the whole quota
    assert set(rates["DescribeOptOutLists"]) == {0.5}  # everything else: its share
    assert set(rates["PutOptedOutNumber"]) == {5.0}
