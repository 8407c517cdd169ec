"""Applies under injected faults: throttling storms, HTTP 500s, dropped connections (before and
after the request took effect) and latency spikes, at seeded random points.

Each apply either completes and verifies, or stops with a summary of what was done, what failed
and what was not done - and what it says was done really is done. A clean rerun then converges
(the next plan is empty), no end-user opt-out is ever removed, and retries stay within the
documented budget, counted on both sides of the wire.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import scenario
import soakmode
from faultutil import BUDGET, check_budget, counting, fake_sleep

from reconciler.apply import ApplyOptions, ApplyResult, apply_target, describe
from reconciler.aws import SandboxSessionFactory
from reconciler.cli import UserError
from reconciler.config import load_policy
from reconciler.engine import Engine
from reconciler.logs import configure
from reconciler.plan import Change
from reconciler.sandbox import Faults, Sandbox


@pytest.fixture(autouse=True)
def quiet_logs() -> None:
    """The engine logs every call at debug level when a CLI run configured it so; keep these quiet."""
    configure("json", 0, stream=io.StringIO())


PROFILES: dict[str, dict[str, float]] = {
    "throttling-storm": {"throttle_rate": 0.45},
    "server-errors": {"error_rate": 0.2},
    "dropped-connections": {"drop_rate": 0.1, "drop_after_rate": 0.1},
    "mixed": {"throttle_rate": 0.1, "error_rate": 0.05, "drop_rate": 0.05, "drop_after_rate": 0.05},
    "hostile": {"throttle_rate": 0.3, "error_rate": 0.2, "drop_rate": 0.1, "drop_after_rate": 0.15},
}
SEEDS = range(soakmode.scale(ci=2, soak=60))


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    loaded, diagnostics = load_policy(scenario.write_config(tmp_path_factory.mktemp("faults") / "config"))
    assert loaded is not None, diagnostics
    return loaded


def apply_once(sandbox: Sandbox, policy: Any) -> ApplyResult | UserError:
    engine = Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0, sleep=fake_sleep, command="apply")
    try:
        return apply_target(engine, "prod", ApplyOptions())
    except UserError as error:  # a read that failed after its retries: reported, never a traceback
        return error


def identity(change: Change) -> tuple[str, str, str]:
    """What a change does, comparable across plans (masked keys are numbered per plan: ``****#2``)."""
    if change.secret is not None:
        return (change.key.rsplit("/", 1)[0], change.action, change.secret)
    return (change.key, change.action, "")


def pending_changes(sandbox: Sandbox, policy: Any) -> list[Change]:
    engine = Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0, sleep=fake_sleep)
    return engine.plan(engine.start("prod")).changes


def pending(sandbox: Sandbox, policy: Any) -> list[str]:
    return [change.key for change in pending_changes(sandbox, policy)]


def end_user_opt_outs(sandbox: Sandbox) -> set[tuple[str, str]]:
    state = sandbox.world.region(scenario.ACCOUNT, scenario.REGION)
    return {
        (name, number)
        for name, opt_out_list in state.opt_out_lists.items()
        for number, entry in opt_out_list.entries.items()
        if entry.end_user_opted_out
    }


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_apply_under_faults_stops_cleanly_then_converges(
    policy: Any, profile: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for seed in SEEDS:
        sandbox = Sandbox(world=scenario.new_world(), faults=Faults(seed=seed, **PROFILES[profile]))
        protected = end_user_opt_outs(sandbox)
        with counting(monkeypatch, sandbox, spike_rate=0.05, seed=seed) as ledger:
            outcome = apply_once(sandbox, policy)
        check_budget(ledger)
        soakmode.tally("faults injected", sum(ledger.faults.values()) + ledger.spikes)
        soakmode.tally("fault-injected applies")
        sandbox.gateway.faults = None
        left_changes = pending_changes(sandbox, policy)
        left = [change.key for change in left_changes]
        if isinstance(outcome, UserError):
            soakmode.tally("fault-injected applies stopped by a failed read")
            assert outcome.message.startswith("target prod: "), outcome.message
            assert "failed" in outcome.message and "Traceback" not in outcome.message
        elif not outcome.ok:
            soakmode.tally("fault-injected applies stopped with a summary")
            lines = describe(outcome)
            if outcome.failed is not None:
                assert outcome.error, lines
                assert f"  FAILED: {outcome.failed.key}: {outcome.error}" in lines, lines
                assert len(outcome.applied) + 1 + len(outcome.not_done) >= 1
            else:  # a read failed after protective changes were written meanwhile: reported, not lost
                assert outcome.refused is not None and "failed" in outcome.refused, lines
                assert outcome.applied and "  refused, nothing more was changed:" in lines, lines
            # What the summary says was done is done: none of it is still pending.
            still = {identity(c) for c in outcome.applied} & {identity(c) for c in left_changes}
            assert not still, (lines, still)
        else:
            soakmode.tally("fault-injected applies completed despite faults")
            assert left == [], left
        assert end_user_opt_outs(sandbox) >= protected, "an end-user opt-out was removed"
        # The next run, without faults, converges.
        with counting(monkeypatch, sandbox) as ledger:
            rerun = apply_once(sandbox, policy)
        check_budget(ledger)
        assert isinstance(rerun, ApplyResult) and rerun.ok, describe(rerun) if isinstance(rerun, ApplyResult) else rerun
        assert pending(sandbox, policy) == []
        assert end_user_opt_outs(sandbox) >= protected
        assert_no_duplicates(sandbox)
        soakmode.tally("fault-injected applies converged")


def assert_no_duplicates(sandbox: Sandbox) -> None:
    """A write retried after its response was lost must not have created a second resource."""
    state = sandbox.world.region(scenario.ACCOUNT, scenario.REGION)
    names = [state.tags.get(pc.arn, {}).get("Name") for pc in state.protect_configurations.values()]
    assert sorted(names) == sorted(set(names)), f"duplicate protect configurations: {sorted(names)}"
    shares = sorted(share.name for share in state.resource_shares.values() if share.status == "ACTIVE")
    assert shares == ["partner-numbers"], f"resource shares: {shares}"


def test_retry_budget_bounds_a_dead_endpoint(policy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request throttled: the run gives up within the documented budget, with a clear error."""
    sandbox = Sandbox(world=scenario.new_world(), faults=Faults(throttle_rate=1.0, seed=1))
    with counting(monkeypatch, sandbox) as ledger:
        outcome = apply_once(sandbox, policy)
    check_budget(ledger)
    assert isinstance(outcome, UserError)
    assert "Throttling" in outcome.message or "Rate exceeded" in outcome.message, outcome.message
    # The first call (the STS account check) used all its attempts, and nothing ran after it.
    assert ledger.attempts == BUDGET.max_attempts == len(ledger.calls) + ledger.retries
    soakmode.tally("faults injected", ledger.attempts)
