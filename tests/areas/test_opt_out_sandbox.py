"""The opt-out area against the in-process sandbox: apply converges, the next plan is empty,
reads follow the cost model, end-user opt-outs survive, and AWS's 30-day rule surfaces cleanly."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from area_support import ACCOUNT, REGION, START, calls

from reconciler.areas.opt_outs.area import OptOutsArea, Watermark, numbers_digest
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.aws import Api
from reconciler.cli import UserError
from reconciler.config.model import Desired, Source, Target
from reconciler.plan import Change
from reconciler.sandbox import Sandbox
from reconciler.sandbox.handlers.opt_outs import simulate_inbound_stop
from reconciler.sandbox.state import OptOutEntry

DAY = 24 * 3600


def policy(target: Target, *specs: OptOutListSpec) -> Desired:
    return Desired(target, opt_out_lists=specs)


def spec(name: str, mode: str = "additive", numbers: Sequence[str] = ()) -> OptOutListSpec:
    return OptOutListSpec(name, mode, tuple(sorted(set(numbers))))  # type: ignore[arg-type]


def plan(api: Api, desired: Desired, area: OptOutsArea | None = None) -> tuple[OptOutsArea, list[Change]]:
    area = area or OptOutsArea()
    return area, sorted(area.diff(desired, area.read(api, desired)), key=Change.sort_key)


def apply(api: Api, desired: Desired) -> list[Change]:
    area, changes = plan(api, desired)
    for change in changes:
        area.apply(api, change)
    return changes


def live_numbers(sms: Any, name: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for page in sms.get_paginator("describe_opted_out_numbers").paginate(OptOutListName=name):
        out.update({e["OptedOutNumber"]: e["EndUserOptedOut"] for e in page["OptedOutNumbers"]})
    return out


def fill(sandbox: Sandbox, sms: Any, name: str, numbers: Sequence[str]) -> None:
    """Big state goes straight into the sandbox: a million API calls would be pointless here."""
    sms.create_opt_out_list(OptOutListName=name)
    entries = sandbox.world.region(ACCOUNT, REGION).opt_out_lists[name].entries
    for number in numbers:
        entries[number] = OptOutEntry(START, False)


def test_apply_creates_lists_and_numbers_and_the_next_plan_is_empty(api: Api, sms: Any, target: Target) -> None:
    desired = policy(
        target,
        spec("marketing", numbers=["+12065550100", "+12065550101"]),
        spec("strict", "exact", ["+447700900123"]),
    )
    applied = apply(api, desired)
    assert {c.action for c in applied} == {"create", "add", "update"}
    assert live_numbers(sms, "marketing") == {"+12065550100": False, "+12065550101": False}
    assert live_numbers(sms, "strict") == {"+447700900123": False}
    _, again = plan(api, desired)
    assert again == []


def test_exact_mode_removes_strays_but_keeps_end_user_opt_outs(
    sandbox: Sandbox, api: Api, sms: Any, target: Target
) -> None:
    number = sms.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )
    desired = policy(target, spec("strict", "exact", ["+12065550100"]))
    apply(api, desired)
    sms.update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="strict")
    sms.put_opted_out_number(OptOutListName="strict", OptedOutNumber="+12065550199")
    simulate_inbound_stop(sandbox.world, ACCOUNT, REGION, number["PhoneNumberId"], "+12065550777")
    area, changes = plan(api, desired)
    assert [(c.action, c.secret) for c in changes] == [("remove", "+12065550199")]
    live = area.read(api, desired)
    assert any("kept: end-user opt-out" in w for w in area.warnings(desired, live))
    apply(api, desired)
    assert live_numbers(sms, "strict") == {"+12065550100": False, "+12065550777": True}
    assert plan(api, desired)[1] == []


def test_thirty_day_rule_is_reported_cleanly(sandbox: Sandbox, api: Api, sms: Any, target: Target) -> None:
    desired = policy(target, spec("strict", "exact"))
    sms.create_opt_out_list(OptOutListName="strict")
    sms.put_opted_out_number(OptOutListName="strict", OptedOutNumber="+12065550199")
    apply(api, desired)
    sms.put_opted_out_number(OptOutListName="strict", OptedOutNumber="+12065550199")
    area, changes = plan(api, desired)
    with pytest.raises(UserError) as refused:
        area.apply(api, changes[0])
    assert "+1206555****" in refused.value.message
    assert "+12065550199" not in refused.value.message
    assert "PHONE_NUMBER_CANNOT_BE_OPTED_IN" in refused.value.message or "30 days" in refused.value.message
    assert refused.value.hint and "30 days" in refused.value.hint
    sandbox.world.clock.advance(31 * DAY)
    apply(api, desired)
    assert live_numbers(sms, "strict") == {}


def test_a_few_numbers_on_a_big_list_are_probed_then_looked_up(
    sandbox: Sandbox, api: Api, sms: Any, target: Target
) -> None:
    fill(sandbox, sms, "big", [f"+1206{i:07d}" for i in range(20_000)])  # 200 pages
    listed = ["+12060000003", "+13125550100", "+13125550101"]
    desired = policy(target, spec("big", numbers=listed))
    before = calls(sandbox, "DescribeOptedOutNumbers")
    area, changes = plan(api, desired)
    reads = calls(sandbox, "DescribeOptedOutNumbers") - before
    assert reads <= 2 * 1  # lookup of 3 numbers costs 1 call; the probe never spends more than that again
    assert sorted(c.secret or "" for c in changes if c.action == "add") == ["+13125550100", "+13125550101"]
    for change in changes:
        area.apply(api, change)
    # After the apply the watermark vouches for the listed numbers: the next plan reads nothing.
    before = calls(sandbox, "DescribeOptedOutNumbers")
    area, again = plan(api, desired)
    assert again == []
    assert calls(sandbox, "DescribeOptedOutNumbers") == before
    assert "watermark" in area.strategy(desired, area.read(api, desired))


def test_numbers_added_since_the_last_apply_are_written_through_without_reads(
    sandbox: Sandbox, api: Api, sms: Any, target: Target
) -> None:
    old = [f"+1206{i:07d}" for i in range(300)]
    apply(api, policy(target, spec("list", numbers=old)))
    new = [*old, "+13125550100", "+13125550101"]

    def baseline(list_spec: OptOutListSpec, mark: Watermark) -> Sequence[str] | None:
        return sorted(old) if mark.digest == numbers_digest(old) else None

    desired = policy(target, spec("list", numbers=new))
    before = calls(sandbox, "DescribeOptedOutNumbers")
    area, changes = plan(api, desired, OptOutsArea(baseline=baseline))
    assert calls(sandbox, "DescribeOptedOutNumbers") == before
    adds = [c for c in changes if c.action == "add"]
    assert sorted(c.secret or "" for c in adds) == ["+13125550100", "+13125550101"]
    assert all("unverified" in c.flags for c in adds)
    puts = calls(sandbox, "PutOptedOutNumber")
    for change in changes:
        area.apply(api, change)
    assert calls(sandbox, "PutOptedOutNumber") - puts == 2
    assert plan(api, desired)[1] == []
    assert len(live_numbers(sms, "list")) == 302


def test_drift_verifies_what_the_watermark_vouches_for(api: Api, sms: Any, target: Target) -> None:
    desired = policy(target, spec("list", numbers=["+12065550100", "+12065550101"]))
    apply(api, desired)
    sms.delete_opted_out_number(OptOutListName="list", OptedOutNumber="+12065550101")
    assert plan(api, desired)[1] == []  # plan trusts the watermark (documented)
    _, drift = plan(api, desired, OptOutsArea(command="drift"))
    assert [(c.action, c.secret) for c in drift if c.action == "add"] == [("add", "+12065550101")]


def test_prune_deletes_unnamed_lists_but_not_default(api: Api, sms: Any, target: Target) -> None:
    sms.create_opt_out_list(OptOutListName="stale")
    desired = Desired(target, prune=frozenset({"opt_outs"}))
    changes = apply(api, desired)
    assert [c.key for c in changes] == ["opt_outs/stale"]
    names = {item["OptOutListName"] for item in sms.describe_opt_out_lists()["OptOutLists"]}
    assert names == {"Default"}
    assert plan(api, desired)[1] == []


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def file_spec(config: Path, numbers: Sequence[str]) -> OptOutListSpec:
    (config / "numbers").mkdir(parents=True, exist_ok=True)
    (config / "numbers" / "list.txt").write_text("# opt-outs\n" + "".join(f"{n}\n" for n in numbers))
    source = Source(str(config / "opt_out_lists.yaml"), 3, 3)
    return OptOutListSpec("list", "additive", tuple(sorted(set(numbers))), "numbers/list.txt", source)


def test_a_pull_request_adding_numbers_plans_from_git_history_without_reading_the_list(
    sandbox: Sandbox, api: Api, sms: Any, target: Target, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    config = repo / "config"
    old = [f"+1206{i:07d}" for i in range(400)]
    git(tmp_path, "init", "-q", str(repo))
    base = file_spec(config, old)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    apply(api, policy(target, base))  # main applied: the watermark records the committed list
    # The pull request appends two numbers to the file (committed or not: both work).
    head = file_spec(config, [*old, "+13125550100", "+13125550101"])
    before = calls(sandbox, "DescribeOptedOutNumbers")
    area, changes = plan(api, policy(target, head))
    assert calls(sandbox, "DescribeOptedOutNumbers") == before
    assert sorted(c.secret or "" for c in changes if c.action == "add") == ["+13125550100", "+13125550101"]
    assert "write-through" in area.strategy(policy(target, head), area.read(api, policy(target, head)))
    for change in changes:
        area.apply(api, change)
    assert plan(api, policy(target, head))[1] == []


def test_without_a_matching_history_the_list_is_verified(
    sandbox: Sandbox, api: Api, sms: Any, target: Target, tmp_path: Path
) -> None:
    config = tmp_path / "not-a-repo" / "config"
    old = [f"+1206{i:07d}" for i in range(10)]
    apply(api, policy(target, file_spec(config, old)))
    head = file_spec(config, [*old, "+13125550100"])
    before = calls(sandbox, "DescribeOptedOutNumbers")
    _, changes = plan(api, policy(target, head))
    assert calls(sandbox, "DescribeOptedOutNumbers") > before  # verified by reading
    adds = [c for c in changes if c.action == "add"]
    assert [c.secret for c in adds] == ["+13125550100"] and not adds[0].flags
