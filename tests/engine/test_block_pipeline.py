"""Blocks are written while protect is still being read, on AWS's quotas and a simulated clock."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from engine_support import Harness, policy, replace

from reconciler.apply import ApplyOptions, ApplyResult, apply_target
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.areas.protect.area import ProtectArea
from reconciler.areas.protect.spec import CapabilityRules, EmergencyBlock, ProtectConfigurationSpec
from reconciler.aws import SandboxSessionFactory
from reconciler.engine import Engine
from reconciler.guard import GuardOptions
from reconciler.plan import Plan
from reconciler.sandbox import Latency, Quotas
from reconciler.sandbox.state import OptOutEntry

READ = "GetProtectConfigurationCountryRuleSet"
WRITE = "UpdateProtectConfigurationCountryRuleSet"
CONFIGURATIONS = 6


def fleet() -> Any:
    rules = {"SMS": CapabilityRules("ALLOW", {}), "VOICE": CapabilityRules("ALLOW", {})}
    # p0 is the account default: emergency blocks need one (sends without a configuration set).
    specs = tuple(ProtectConfigurationSpec(name=f"p{i}", rules=rules, account_default=i == 0) for i in range(CONFIGURATIONS))
    return policy(protect_configurations=specs)


def emergency(p: Any) -> Any:
    return replace(p, emergency_blocks=(EmergencyBlock("GH", ("SMS", "VOICE"), "incident"),))


def on_quotas(harness: Harness, p: Any, confirm: Any = None, guard: GuardOptions | None = None) -> ApplyResult:
    """An apply as in production: AWS's quotas in the sandbox and in the client, 50 ms a request."""
    harness.sandbox.gateway.quotas = Quotas(mode="throttle")
    harness.sandbox.gateway.latency = Latency(0.05)
    clock = harness.sandbox.world.clock
    engine = Engine(p, SandboxSessionFactory(harness.sandbox), rate_scale=1.0, clock=clock.now, sleep=clock.sleep,
                    command="apply")
    try:
        return apply_target(engine, "prod", ApplyOptions(guard=guard or GuardOptions(), confirm=confirm))
    finally:  # the checks that follow read the sandbox directly, without a client-side limiter
        harness.sandbox.gateway.quotas = None


@pytest.fixture
def managed() -> Harness:
    harness = Harness()
    assert harness.apply(fleet()).ok
    harness.sandbox.calls.clear()
    return harness


def times(harness: Harness, operation: str) -> list[float]:
    return sorted(c.time for c in harness.sandbox.calls if c.operation == operation and c.error is None)


def gh_status(harness: Harness) -> set[str]:
    client = harness.client()
    statuses = set()
    for config in client.describe_protect_configurations()["ProtectConfigurations"]:
        for capability in ("SMS", "VOICE"):
            rules = client.get_protect_configuration_country_rule_set(
                ProtectConfigurationId=config["ProtectConfigurationId"], NumberCapability=capability
            )["CountryRuleSet"]
            statuses.add(rules["GH"]["ProtectStatus"])
    return statuses


def test_blocks_are_written_while_the_rule_sets_are_still_read(managed: Harness) -> None:
    result = on_quotas(managed, emergency(fleet()))
    assert result.ok, result
    reads, writes = times(managed, READ), times(managed, WRITE)
    assert len(writes) == CONFIGURATIONS * 2
    first_pass = reads[: CONFIGURATIONS * 2]  # the apply's read, before its verification re-read
    assert writes[0] < first_pass[-1], "the first block waits for every rule set to be read"
    # Reads and writes have quotas of their own, so the last block lands about one rule-set read
    # (plus a request) after the last read, instead of 12 s of writes after it.
    assert writes[-1] - first_pass[-1] < 3.0
    assert gh_status(managed) == {"BLOCK"}
    assert managed.plan(emergency(fleet())).changes == []
    throttled = [c for c in managed.sandbox.calls if c.error == "ThrottlingException"]
    assert throttled == []


def test_with_a_confirmation_nothing_is_written_before_the_plan_is_shown(managed: Harness) -> None:
    shown: list[tuple[Plan, str]] = []

    def confirm(plan: Plan, title: str) -> bool:
        shown.append((plan, title))
        assert times(managed, WRITE) == [], "a block was written before the user confirmed"
        return True

    result = on_quotas(managed, emergency(fleet()), confirm=confirm)
    assert result.ok, result
    assert len(shown[0][0].changes) == CONFIGURATIONS * 2
    assert times(managed, WRITE)[0] > times(managed, READ)[CONFIGURATIONS * 2 - 1]
    assert gh_status(managed) == {"BLOCK"}


def test_a_failed_block_stops_the_writer_and_the_next_apply_converges(managed: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    original = ProtectArea.apply
    calls = {"n": 0}

    def flaky(self: ProtectArea, api: Any, change: Any) -> None:
        if change.resource_type == "country-rules":
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("AccessDeniedException: not allowed")
        original(self, api, change)

    monkeypatch.setattr(ProtectArea, "apply", flaky)
    result = on_quotas(managed, emergency(fleet()))
    assert not result.ok
    assert result.failed is not None and result.failed.key.endswith("/block")
    assert result.error == "RuntimeError: AccessDeniedException: not allowed"
    assert len(result.applied) == 2
    # every block not written is reported; nothing outside the block phase ran
    assert len(result.not_done) == CONFIGURATIONS * 2 - 3
    assert all(c.key.endswith("/block") for c in result.not_done)
    assert len(times(managed, WRITE)) == 2
    monkeypatch.setattr(ProtectArea, "apply", original)
    again = on_quotas(managed, emergency(fleet()))
    assert again.ok, again
    assert len(again.applied) == CONFIGURATIONS * 2 - 2
    assert gh_status(managed) == {"BLOCK"}


def test_an_emergency_block_never_waits_for_an_opt_out_list_read() -> None:
    # An exact-mode list must be read whole: 50,000 entries are 500 pages at 1/s.
    harness = Harness()
    numbers = tuple(f"+1555{n:07d}" for n in range(50_000))
    with_list = replace(fleet(), opt_out_lists=(OptOutListSpec("big", "exact", numbers[:1]),))
    assert harness.apply(with_list).ok
    big = harness.state().opt_out_lists["big"]
    now = harness.sandbox.world.clock.now()
    for n, number in enumerate(numbers):
        big.entries[number] = OptOutEntry(now, n % 3 == 0)
    everything = replace(with_list, opt_out_lists=(OptOutListSpec("big", "exact", numbers),))
    harness.sandbox.calls.clear()
    started = harness.sandbox.world.clock.now()

    result = on_quotas(harness, emergency(everything))
    assert result.ok, result
    pages = times(harness, "DescribeOptedOutNumbers")
    writes = times(harness, WRITE)
    assert len(pages) == 500  # read once: nothing changes on the list, so verification skips it
    assert writes[-1] - started < 20  # 12 blocks at 1/s, written while the list is read …
    assert pages[499] - started > 400  # … which takes minutes
    assert gh_status(harness) == {"BLOCK"}


def lists_policy(*new: str) -> Any:
    """The fleet plus three additive lists; ``new`` numbers are added to list-b."""
    base = ("+12065550100",)
    return replace(fleet(), opt_out_lists=(
        OptOutListSpec("list-a", "additive", base),
        OptOutListSpec("list-b", "additive", tuple(sorted((*base, *new)))),
        OptOutListSpec("list-c", "additive", base),
    ))


NEW = tuple(f"+1206555{n:04d}" for n in range(1000, 1030))


def test_opted_out_numbers_are_added_while_protect_is_still_read_and_only_their_list_is_verified() -> None:
    harness = Harness()
    assert harness.apply(lists_policy()).ok
    harness.sandbox.calls.clear()

    result = on_quotas(harness, lists_policy(*NEW))
    assert result.ok, result
    assert sorted(c.key for c in result.applied if c.action == "add") == sorted(
        f"opt_outs/list-b/{c.after}" for c in result.applied if c.action == "add"
    )
    puts = times(harness, "PutOptedOutNumber")
    assert len(puts) == len(NEW)
    assert puts[0] < times(harness, READ)[-1], "the additions waited for protect's read"
    watermark = times(harness, "TagResource")
    assert len(watermark) == 1 and watermark[0] > puts[-1]  # the watermark vouches for written numbers only
    # Verification re-reads list-b's watermark only (one tag read after the watermark write).
    tag_reads_after = [t for t in times(harness, "ListTagsForResource") if t > watermark[0]]
    assert len(tag_reads_after) == 1
    live = harness.state().opt_out_lists["list-b"].entries
    assert set(NEW) <= set(live)
    assert harness.plan(lists_policy(*NEW)).changes == []


def test_a_refusal_after_early_additions_reports_them_as_done() -> None:
    harness = Harness()
    with_default = replace(lists_policy(), protect_configurations=tuple(
        dataclasses.replace(spec, account_default=(spec.name == "p0")) for spec in fleet().desired["prod"].protect_configurations
    ))
    assert harness.apply(with_default).ok
    # The pull request adds numbers and drops the account default, which needs --force.
    changed = replace(lists_policy(*NEW), protect_configurations=tuple(
        dataclasses.replace(spec, account_default=False) for spec in fleet().desired["prod"].protect_configurations
    ))
    result = on_quotas(harness, changed)
    assert result.refused is not None and "--force" in result.refused
    assert len([c for c in result.applied if c.action == "add"]) == len(NEW)
    assert [c.key for c in result.not_done if c.area == "protect"] == ["protect/p0/account-default"]
    assert "opt_outs/list-b/watermark" in {c.key for c in result.not_done}
    assert set(NEW) <= set(harness.state().opt_out_lists["list-b"].entries)


def test_a_failed_protect_read_is_reported_with_the_additions_written_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from reconciler.aws import Api

    harness = Harness()
    assert harness.apply(lists_policy()).ok
    original = Api.call
    reads = {"n": 0}

    def denied_late(self: Api, service: str, operation: str, **params: Any) -> dict[str, Any]:
        if operation == READ:
            reads["n"] += 1
            if reads["n"] == 10:  # long after list-b's additions started
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, operation)
        return original(self, service, operation, **params)

    monkeypatch.setattr(Api, "call", denied_late)
    result = on_quotas(harness, lists_policy(*NEW))
    assert not result.ok
    assert result.refused is not None and "reading protect failed" in result.refused
    assert len([c for c in result.applied if c.action == "add"]) == len(NEW)
    assert set(NEW) <= set(harness.state().opt_out_lists["list-b"].entries)


def test_early_opted_out_additions_stop_at_the_additions_limit_and_the_apply_is_refused() -> None:
    """Additions are written before the guard runs: they count against --max-additions, in total."""
    harness = Harness()
    assert harness.apply(lists_policy()).ok
    result = on_quotas(harness, lists_policy(*NEW), guard=GuardOptions(max_additions=12))
    assert result.refused is not None
    assert "opt_outs/list-b: 30 opted-out number additions exceed the limit of 12; rerun with --max-additions 30" in result.refused
    written = [c for c in result.applied if c.action == "add"]
    assert len(written) == 12  # the writer stopped at the limit
    assert len(set(NEW) & set(harness.state().opt_out_lists["list-b"].entries)) == 12
    # With the limit raised, the next apply converges.
    assert on_quotas(harness, lists_policy(*NEW), guard=GuardOptions(max_additions=30)).ok
    assert set(NEW) <= set(harness.state().opt_out_lists["list-b"].entries)
