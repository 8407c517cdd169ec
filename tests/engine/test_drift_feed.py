"""Incremental drift (reconciler/drift_feed): from the baseline of a full read and the CloudTrail
events since, it reports exactly what a full drift reports, reading only what the events touched.

The property test applies random out-of-git writes (opted-out numbers put and deleted on an
additive and an exact list, protect rule and tag changes, lists created and deleted) with random
CloudTrail delivery delays (events delivered out of order, some only after an intermediate
incremental run), sometimes changes the policy in between, and checks that the incremental drift
equals a full drift: the same drifted, missing, unmanaged and pending items, the same warnings and
the same live-state fingerprints. The documented limit is tested too: a write whose event is never
delivered is missed by incremental drift and found by the next full read.
"""

from __future__ import annotations

import dataclasses
import json
import stat
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from engine_support import Harness, policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.checkpoint import Checkpoints
from reconciler.commands.drift import categorise
from reconciler.config.model import CapabilityRules, OptOutListSpec, Policy, ProtectConfigurationSpec
from reconciler.drift_feed.incremental import DAY, DriftFeed, FeedOptions
from reconciler.plan import Plan
from reconciler.sandbox.state import OptOutEntry, TrailEvent
from reconciler.sandbox.trail import DELAY_SETTING, JITTER_SETTING

NUMBERS = tuple(f"+1206555{n:04d}" for n in range(40))
LISTED = NUMBERS[:24:2]  # the additive list's policy numbers
EXACT = NUMBERS[:6]
COUNTRIES = ("GB", "NG", "AU")
OUTSIDER = "444455556666"  # an account the policy never names


def make_policy(extra: tuple[str, ...] = ()) -> Policy:
    return policy(
        opt_out_lists=(
            OptOutListSpec("big", "additive", tuple(sorted(set(LISTED) | set(extra)))),
            OptOutListSpec("ex", "exact", EXACT),
        ),
        protect_configurations=(ProtectConfigurationSpec(name="main", rules={"SMS": CapabilityRules("ALLOW", {"GB": "BLOCK"})}),),
    )


def setup(harness: Harness) -> Policy:
    p = make_policy()
    assert harness.apply(p).ok
    state = harness.state()
    now = harness.sandbox.world.clock.now()
    for n, number in enumerate(NUMBERS[:30]):  # entries the policy does not list, end-user opt-outs among them
        state.opt_out_lists["big"].entries.setdefault(number, OptOutEntry(now, n % 4 == 1))
    state.opt_out_lists["ex"].entries.setdefault(NUMBERS[7], OptOutEntry(now, True))
    harness.sandbox.world.clock.advance(3600)  # the apply's own events are older than the first baseline
    return p


def drift(harness: Harness, p: Policy, store: Checkpoints | None, **options: Any) -> Plan:
    clock = harness.sandbox.world.clock
    engine = harness.engine(p, command="drift")
    engine.wall = clock.now
    engine.checkpoint = store
    return DriftFeed(FeedOptions(store=store, **options), wall=clock.now).plan(engine, engine.start("prod"))


def findings(plan: Plan) -> dict[str, Any]:
    """What a drift report says, without how it read (mode, strategies)."""
    groups = categorise(plan)
    return {
        "drifted": [c.to_json() for c in groups["drifted"]],
        "missing": [c.to_json() for c in groups["missing"]],
        "unmanaged": groups["unmanaged"],
        "pending": groups["pending"],
        "warnings": plan.warnings,
        "security": plan.security,
        "fingerprint": plan.fingerprint,
        "areas": plan.area_fingerprints,
    }


def store() -> Checkpoints:
    return Checkpoints(tempfile.mkdtemp(prefix="drift-feed-"), secret="the plan key")


def baselined() -> tuple[Harness, Policy, Checkpoints]:
    """The account set up, a full drift's baseline in the store, and the clock an hour later."""
    harness = Harness()
    p = setup(harness)
    kept = store()
    drift(harness, p, kept)
    harness.sandbox.world.clock.advance(3600)
    return harness, p, kept


# Out-of-git writes ---------------------------------------------------------------------------------

entry_write = st.tuples(st.sampled_from(("put", "delete")), st.sampled_from(("big", "ex")), st.sampled_from(NUMBERS[:32]))
write = st.one_of(
    entry_write, entry_write, entry_write,  # list entries are most out-of-git writes: drawn most often
    st.tuples(st.just("rule"), st.sampled_from(COUNTRIES), st.sampled_from(("ALLOW", "BLOCK", "MONITOR"))),
    st.tuples(st.just("tag"), st.sampled_from(("Name", "team")), st.sampled_from(("main", "other"))),
    st.tuples(st.just("list"), st.sampled_from(("create", "delete")), st.sampled_from(("stray", "spare"))),
    # a grant made out of git, and its removal: the security finding must follow
    st.tuples(st.just("grant"), st.sampled_from(("put", "delete")), st.sampled_from(("big", "ex"))),
)
step = st.tuples(write, st.floats(0, 400))  # the write, then seconds until the next one


def perform(harness: Harness, action: tuple[str, str, str]) -> None:
    client = harness.client()
    kind, a, b = action
    try:
        if kind == "put":
            client.put_opted_out_number(OptOutListName=a, OptedOutNumber=b)
        elif kind == "delete":
            client.delete_opted_out_number(OptOutListName=a, OptedOutNumber=b)
        elif kind == "rule":
            pid = _protect_id(harness)
            client.update_protect_configuration_country_rule_set(
                ProtectConfigurationId=pid, NumberCapability="SMS", CountryRuleSetUpdates={a: {"ProtectStatus": b}})
        elif kind == "tag":
            arn = harness.state().protect_configurations[_protect_id(harness)].arn
            client.tag_resource(ResourceArn=arn, Tags=[{"Key": a, "Value": b}])
        elif kind == "grant":
            arn = harness.state().opt_out_lists[b].arn
            if a == "put":
                client.put_resource_policy(ResourceArn=arn, Policy=json.dumps({
                    "Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"AWS": OUTSIDER},
                        "Action": "sms-voice:DescribeOptedOutNumbers", "Resource": arn}]}))
            else:
                client.delete_resource_policy(ResourceArn=arn)
        elif a == "create":
            client.create_opt_out_list(OptOutListName=b)
        else:
            client.delete_opt_out_list(OptOutListName=b)
    except ClientError:
        pass  # refused (absent number, 30-day rule, list exists…): no event, no change


def _protect_id(harness: Harness) -> str:
    return next(iter(harness.state().protect_configurations))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(step, max_size=10),
    after=st.lists(step, min_size=1, max_size=10),
    delay=st.floats(0, 400),
    jitter=st.floats(0, 480),
    middle=st.booleans(),
    policy_change=st.booleans(),
)
def test_incremental_drift_reports_exactly_what_a_full_drift_reports(
    before: list[Any], after: list[Any], delay: float, jitter: float, middle: bool, policy_change: bool
) -> None:
    harness = Harness()
    p = setup(harness)
    clock = harness.sandbox.world.clock
    harness.sandbox.world.settings[DELAY_SETTING] = delay
    harness.sandbox.world.settings[JITTER_SETTING] = jitter  # delivered out of order, within the overlap
    kept = store()
    clock.advance(3600)
    assert drift(harness, p, kept).drift_mode["mode"] == "full"  # type: ignore[index]
    for action, pause in before:
        perform(harness, action)
        clock.advance(pause)
    if middle:  # a nightly run while some events are not delivered yet: the next window overlaps it
        assert drift(harness, p, kept).drift_mode["mode"] == "incremental"  # type: ignore[index]
    for action, pause in after:
        perform(harness, action)
        clock.advance(pause)
    if policy_change:  # a merged pull request lists more numbers
        p = make_policy(extra=NUMBERS[30:33])
    clock.advance(delay + jitter + 1)  # every event delivered
    incremental = drift(harness, p, kept)
    assert incremental.drift_mode["mode"] == "incremental"  # type: ignore[index]
    assert findings(incremental) == findings(drift(harness, p, None))


def test_reads_only_the_touched_numbers_and_says_what_it_covered() -> None:
    harness, p, kept = baselined()
    clock = harness.sandbox.world.clock
    client = harness.client()
    client.put_opted_out_number(OptOutListName="big", OptedOutNumber=NUMBERS[35])
    client.delete_opted_out_number(OptOutListName="big", OptedOutNumber=LISTED[0])  # drift: a listed number removed
    clock.advance(600)
    harness.sandbox.calls.clear()
    plan = drift(harness, p, kept)
    calls = Counter(c.operation for c in harness.sandbox.calls)
    assert calls == Counter({"GetCallerIdentity": 1, "LookupEvents": 1, "DescribeOptedOutNumbers": 1})
    mode = plan.drift_mode or {}
    assert mode["mode"] == "incremental" and mode["events"] == 2
    assert mode["event_names"] == {"DeleteOptedOutNumber": 1, "PutOptedOutNumber": 1}
    assert mode["covered"]["opt_outs"].startswith("2 touched number(s) in 1 list(s) looked up (1 call(s))")
    assert mode["covered"]["protect"] == "unchanged since the baseline: not read"
    assert [c.key for c in categorise(plan)["missing"]] == ["opt_outs/big/+1206555****"]
    assert findings(plan) == findings(drift(harness, p, None))


def test_a_write_whose_event_is_never_delivered_is_found_by_the_next_full_read() -> None:
    harness, p, kept = baselined()
    clock = harness.sandbox.world.clock
    harness.sandbox.world.settings[DELAY_SETTING] = 400 * DAY  # CloudTrail loses this one
    harness.client().delete_opted_out_number(OptOutListName="big", OptedOutNumber=LISTED[1])
    harness.sandbox.world.settings[DELAY_SETTING] = 300.0
    clock.advance(3600)
    full = findings(drift(harness, p, None))
    assert [c["key"] for c in full["missing"]] == ["opt_outs/big/+1206555****"]
    missed = drift(harness, p, kept)
    assert missed.drift_mode["mode"] == "incremental"  # type: ignore[index]
    assert findings(missed)["missing"] == []  # the documented limit
    renewed = drift(harness, p, kept, full=True)
    assert renewed.drift_mode == {**renewed.drift_mode, "mode": "full", "reason": "--full", "baseline_saved": True}  # type: ignore[dict-item]
    assert findings(renewed) == full
    clock.advance(60)
    assert findings(drift(harness, p, kept)) == full  # and the renewed baseline carries it


def test_an_event_drift_cannot_map_forces_a_full_read_and_says_why() -> None:
    harness, p, kept = baselined()
    clock = harness.sandbox.world.clock
    now = clock.now()
    state = harness.state()
    state.trail_events.append(TrailEvent(
        "e-1", "CreateFancyNewThing", "sms-voice.amazonaws.com", now, now, "false", "someone", "AKIA",
        sequence=(state.trail_events[-1].sequence + 1) if state.trail_events else 1,
    ))
    clock.advance(60)
    plan = drift(harness, p, kept)
    mode = plan.drift_mode or {}
    assert mode["mode"] == "full"
    assert "cannot map" in mode["reason"] and "sms-voice:CreateFancyNewThing ×1" in mode["reason"]
    assert mode["baseline_saved"] is True


def test_an_old_baseline_or_none_means_a_full_read() -> None:
    harness = Harness()
    p = setup(harness)
    clock = harness.sandbox.world.clock
    assert drift(harness, p, None).drift_mode["reason"].startswith("no baseline store")  # type: ignore[index]
    kept = store()
    assert drift(harness, p, kept).drift_mode["reason"] == "no baseline in the checkpoint store"  # type: ignore[index]
    clock.advance(2 * DAY)
    assert drift(harness, p, kept, max_age=DAY).drift_mode["reason"] == (  # type: ignore[index]
        "the last full read is 2.0 days old (--baseline-max-age 1 days)")
    clock.advance(60)
    assert drift(harness, p, kept, max_age=DAY).drift_mode["mode"] == "incremental"  # type: ignore[index]
    other = Checkpoints(kept.directory, secret="another key")  # a baseline sealed with another key is not used
    assert drift(harness, p, other).drift_mode["reason"] == "no baseline in the checkpoint store"  # type: ignore[index]


def test_the_baseline_is_sealed_and_private(tmp_path: Path) -> None:
    harness = Harness()
    p = setup(harness)
    drift(harness, p, Checkpoints(tmp_path, secret="the plan key"))
    (saved,) = list(tmp_path.iterdir())
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    raw = saved.read_bytes()
    assert not any(number.encode() in raw or number[1:].encode() in raw for number in NUMBERS)


def test_the_drift_report_says_which_mode_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.cli import main

    monkeypatch.setenv("RECONCILER_PLAN_KEY", "the plan key")
    config = Path(__file__).resolve().parents[2] / "config"
    args = ["drift", "--config", str(config), "--sandbox", "--checkpoint", str(tmp_path), "--format", "json"]
    assert main(args) in (0, 2)
    first = json.loads(capsys.readouterr().out)["plans"][0]["drift_mode"]
    assert first["mode"] == "full" and first["reason"] == "no baseline in the checkpoint store"
    assert main([*args[:-2], "--full"]) in (0, 2)
    assert "Full drift (--full); baseline renewed" in capsys.readouterr().out


def test_policy_change_since_the_baseline_is_followed_without_reading_the_list_again() -> None:
    harness, _, kept = baselined()
    grown = make_policy(extra=(NUMBERS[25], NUMBERS[38]))  # one on the list already, one not
    harness.sandbox.calls.clear()
    plan = drift(harness, grown, kept)
    assert Counter(c.operation for c in harness.sandbox.calls)["DescribeOptedOutNumbers"] == 0
    # The lists are digested apart (the opt-out area's Refresher.policy_fields): the other areas keep their baseline.
    assert (plan.drift_mode or {})["covered"]["protect"] == "unchanged since the baseline: not read"
    assert findings(plan) == findings(drift(harness, grown, None))
    assert dataclasses.asdict(categorise(plan)["missing"][0])["data"] == {"list": "big"}


def test_an_event_delivered_after_the_next_run_is_found_by_the_one_after_through_the_overlap() -> None:
    harness = Harness()
    p = setup(harness)
    clock = harness.sandbox.world.clock
    kept = store()
    drift(harness, p, kept)
    harness.sandbox.world.settings[DELAY_SETTING] = 600.0  # late, but within the 15-minute overlap
    clock.advance(3600)
    harness.client().delete_opted_out_number(OptOutListName="big", OptedOutNumber=LISTED[2])
    clock.advance(60)
    early = drift(harness, p, kept)  # the event is not delivered yet: this run cannot know
    assert early.drift_mode["events"] == 0  # type: ignore[index]
    clock.advance(3600)
    late = drift(harness, p, kept)
    assert late.drift_mode["events"] == 1  # type: ignore[index]
    assert findings(late) == findings(drift(harness, p, None))
    assert [c.key for c in categorise(late)["missing"]] == ["opt_outs/big/+1206555****"]


def test_an_unreadable_event_history_means_a_full_read_that_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.drift_feed.incremental as incremental

    harness, p, kept = baselined()

    def denied(api: Any, start: float) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "LookupEvents")

    monkeypatch.setattr(incremental, "read_feed", denied)
    mode = drift(harness, p, kept).drift_mode or {}
    assert mode["mode"] == "full" and mode["reason"].startswith("the CloudTrail event history could not be read "
                                                                "(AccessDeniedException)")


def test_a_grant_made_out_of_git_is_found_by_incremental_drift() -> None:
    harness = Harness()
    p = setup(harness)
    clock = harness.sandbox.world.clock
    kept = store()
    assert not drift(harness, p, kept).security
    clock.advance(3600)
    perform(harness, ("grant", "put", "ex"))
    clock.advance(3600)
    incremental = drift(harness, p, kept)
    assert incremental.drift_mode["mode"] == "incremental"  # type: ignore[index]
    assert [f["principal"] for f in incremental.security] == [OUTSIDER]
    assert "read whole" in incremental.drift_mode["covered"]["resource_policies"]  # type: ignore[index]
