"""Contract tests: NextToken pagination to the last page, token tampering, and page cost at scale."""

from __future__ import annotations

import statistics
import time

import pytest
from sms_support import OWNER, REGION, Sandbox, error_of
from sortedcontainers import SortedDict

from reconciler.sandbox import paging
from reconciler.sandbox.handlers.opt_outs import simulate_inbound_stop
from reconciler.sandbox.resources import ensure_default_opt_out_list
from reconciler.sandbox.state import OptOutEntry, OptOutList


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def _fill(sandbox: Sandbox, name: str, count: int) -> None:
    client = sandbox.client()
    client.create_opt_out_list(OptOutListName=name)
    state = sandbox.state()
    entries = state.opt_out_lists[name].entries
    for index in range(count):
        entries[f"+1206555{index:04d}"] = OptOutEntry(sandbox.world.clock.now(), end_user_opted_out=index % 2 == 0)


def test_pages_to_the_last_page(sandbox: Sandbox) -> None:
    client = sandbox.client()
    _fill(sandbox, "big", 250)
    seen: list[str] = []
    sizes: list[int] = []
    token = None
    while True:
        page = client.describe_opted_out_numbers(
            OptOutListName="big", MaxResults=100, **({"NextToken": token} if token else {})
        )
        sizes.append(len(page["OptedOutNumbers"]))
        seen += [n["OptedOutNumber"] for n in page["OptedOutNumbers"]]
        token = page.get("NextToken")
        if token is None:
            break
    assert sizes == [100, 100, 50]
    assert seen == sorted(seen) and len(set(seen)) == 250


def test_boto3_paginator_and_default_page_size(sandbox: Sandbox) -> None:
    client = sandbox.client()
    _fill(sandbox, "big", 250)
    first = client.describe_opted_out_numbers(OptOutListName="big")
    assert len(first["OptedOutNumbers"]) == paging.DEFAULT_PAGE_SIZE and "NextToken" in first
    paginator = client.get_paginator("describe_opted_out_numbers")
    pages = list(paginator.paginate(OptOutListName="big", Filters=[{"Name": "end-user-opted-out", "Values": ["true"]}],
                                    PaginationConfig={"PageSize": 40}))
    assert [len(p["OptedOutNumbers"]) for p in pages] == [40, 40, 40, 5]
    assert all(n["EndUserOptedOut"] for p in pages for n in p["OptedOutNumbers"])


def test_items_changing_between_pages_are_not_repeated(sandbox: Sandbox) -> None:
    client = sandbox.client()
    _fill(sandbox, "live", 30)
    first = client.describe_opted_out_numbers(OptOutListName="live", MaxResults=10)
    client.put_opted_out_number(OptOutListName="live", OptedOutNumber="+12065550000")  # sorts before every page
    client.delete_opted_out_number(OptOutListName="live", OptedOutNumber=first["OptedOutNumbers"][-1]["OptedOutNumber"])
    second = client.describe_opted_out_numbers(OptOutListName="live", MaxResults=10, NextToken=first["NextToken"])
    assert second["OptedOutNumbers"][0]["OptedOutNumber"] == "+12065550010"


def test_forged_and_foreign_tokens_are_rejected(sandbox: Sandbox) -> None:
    client = sandbox.client()
    _fill(sandbox, "a", 20)
    _fill(sandbox, "b", 20)
    token = client.describe_opted_out_numbers(OptOutListName="a", MaxResults=5)["NextToken"]
    body, _, checksum = token.partition(".")
    tampered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + checksum
    for bad in ("not-a-token", tampered, token + "x"):
        with pytest.raises(client.exceptions.ValidationException) as excinfo:
            client.describe_opted_out_numbers(OptOutListName="a", NextToken=bad)
        assert error_of(excinfo)["Reason"] == "INVALID_NEXT_TOKEN"
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.describe_opted_out_numbers(OptOutListName="b", NextToken=token)  # another list's token
    assert error_of(excinfo)["Reason"] == "INVALID_NEXT_TOKEN"
    with pytest.raises(client.exceptions.ValidationException):
        client.describe_phone_numbers(NextToken=token)  # another operation's token
    other_account = sandbox.client("999988887777")
    with pytest.raises(other_account.exceptions.ValidationException):
        other_account.describe_opt_out_lists(NextToken=token)


def _page_seconds(client: object, name: str, token: str) -> float:
    started = time.perf_counter()
    page = client.describe_opted_out_numbers(OptOutListName=name, MaxResults=100, NextToken=token)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    assert len(page["OptedOutNumbers"]) == 100
    return elapsed


def test_a_page_of_a_million_numbers_costs_about_the_same_as_a_small_one(sandbox: Sandbox) -> None:
    client = sandbox.client()
    state = sandbox.state()
    now = sandbox.world.clock.now()
    ensure_default_opt_out_list(state, now)
    shared_entry = OptOutEntry(now, end_user_opted_out=False)
    huge = OptOutList("huge", f"arn:aws:sms-voice:{REGION}:{OWNER}:opt-out-list/huge", now)
    huge.entries = SortedDict((f"+1{2000000000 + i * 7}", shared_entry) for i in range(1_000_000))
    state.opt_out_lists["huge"] = huge
    _fill(sandbox, "small", 250)

    big_token = client.describe_opted_out_numbers(OptOutListName="huge", MaxResults=100)["NextToken"]
    small_token = client.describe_opted_out_numbers(OptOutListName="small", MaxResults=100)["NextToken"]
    # A token deep inside the big list: its position costs O(log n) to find, like the first page's.
    middle_key = huge.entries.keys()[500_000]
    deep_token = paging.encode_token(f"DescribeOptedOutNumbers/{huge.arn}", middle_key)

    # Interleaved so that load from other processes affects every series alike. Reading a
    # million-entry list linearly would cost well over 100 ms a page; O(log n + page) stays near
    # the small list's cost.
    timings: dict[str, list[float]] = {"small": [], "big": [], "deep": []}
    for _ in range(15):
        timings["small"].append(_page_seconds(client, "small", small_token))
        timings["big"].append(_page_seconds(client, "huge", big_token))
        timings["deep"].append(_page_seconds(client, "huge", deep_token))
    small, big, deep = (statistics.median(timings[k]) for k in ("small", "big", "deep"))
    assert big < small * 3 + 0.01, (small, big)
    assert deep < small * 3 + 0.01, (small, deep)
    deep_page = client.describe_opted_out_numbers(OptOutListName="huge", MaxResults=100, NextToken=deep_token)
    assert deep_page["OptedOutNumbers"][0]["OptedOutNumber"] == huge.entries.keys()[500_001]


def _filtered_page_seconds(client: object, name: str, value: str) -> float:
    started = time.perf_counter()
    page = client.describe_opted_out_numbers(  # type: ignore[attr-defined]
        OptOutListName=name, MaxResults=100, Filters=[{"Name": "end-user-opted-out", "Values": [value]}]
    )
    elapsed = time.perf_counter() - started
    assert page["OptedOutNumbers"] and all(n["EndUserOptedOut"] is (value == "true") for n in page["OptedOutNumbers"])
    return elapsed


def test_end_user_filter_over_a_million_numbers_reads_an_index_not_the_list(sandbox: Sandbox) -> None:
    client = sandbox.client()
    state = sandbox.state()
    now = sandbox.world.clock.now()
    ensure_default_opt_out_list(state, now)
    operator_entry = OptOutEntry(now, end_user_opted_out=False)
    huge = OptOutList("huge", f"arn:aws:sms-voice:{REGION}:{OWNER}:opt-out-list/huge", now)
    # A million operator opt-outs, with the only 50 end-user opt-outs spread through them (the
    # last ones near the end): a filter that scanned would read the whole list for one page.
    numbers = [f"+1{2000000000 + i * 7}" for i in range(1_000_000)]
    huge.entries = SortedDict(zip(numbers, [operator_entry] * len(numbers), strict=True))
    end_users = numbers[20_000::20_000]
    for number in end_users:
        huge.entries[number] = OptOutEntry(now, end_user_opted_out=True)
    state.opt_out_lists["huge"] = huge
    _fill(sandbox, "small", 250)

    pages = list(client.get_paginator("describe_opted_out_numbers").paginate(
        OptOutListName="huge", Filters=[{"Name": "end-user-opted-out", "Values": ["true"]}],
        PaginationConfig={"PageSize": 20}))
    assert [n["OptedOutNumber"] for p in pages for n in p["OptedOutNumbers"]] == end_users  # index built here
    timings: dict[str, list[float]] = {"small": [], "true": [], "false": []}
    for _ in range(15):
        timings["small"].append(_filtered_page_seconds(client, "small", "true"))
        timings["true"].append(_filtered_page_seconds(client, "huge", "true"))
        timings["false"].append(_filtered_page_seconds(client, "huge", "false"))
    small, true, false = (statistics.median(timings[k]) for k in ("small", "true", "false"))
    assert true < small * 3 + 0.01, (small, true)
    assert false < small * 3 + 0.01, (small, false)


def test_end_user_index_follows_every_change(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = client.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )

    def listed(value: str) -> list[str]:
        pages = client.get_paginator("describe_opted_out_numbers").paginate(
            OptOutListName="Default", Filters=[{"Name": "end-user-opted-out", "Values": [value]}],
            PaginationConfig={"PageSize": 2},
        )
        return [n["OptedOutNumber"] for p in pages for n in p["OptedOutNumbers"]]

    for index in range(5):
        client.put_opted_out_number(OptOutListName="Default", OptedOutNumber=f"+1206555010{index}")
    assert listed("true") == [] and len(listed("false")) == 5  # the index now exists
    simulate_inbound_stop(sandbox.world, OWNER, REGION, number["PhoneNumberId"], "+12065550102")
    simulate_inbound_stop(sandbox.world, OWNER, REGION, number["PhoneNumberId"], "+12065550199")
    assert listed("true") == ["+12065550102", "+12065550199"]
    assert listed("false") == ["+12065550100", "+12065550101", "+12065550103", "+12065550104"]
    client.delete_opted_out_number(OptOutListName="Default", OptedOutNumber="+12065550199")
    client.delete_opted_out_number(OptOutListName="Default", OptedOutNumber="+12065550100")
    assert listed("true") == ["+12065550102"]
    assert listed("false") == ["+12065550101", "+12065550103", "+12065550104"]
    # true AND false matches nothing; true OR false matches everything.
    both = [{"Name": "end-user-opted-out", "Values": ["true"]}, {"Name": "end-user-opted-out", "Values": ["false"]}]
    assert client.describe_opted_out_numbers(OptOutListName="Default", Filters=both)["OptedOutNumbers"] == []
    either = [{"Name": "end-user-opted-out", "Values": ["true", "false"]}]
    assert len(client.describe_opted_out_numbers(OptOutListName="Default", Filters=either)["OptedOutNumbers"]) == 4
    # Writes straight into the state (snapshots, generators, tests) are indexed too.
    default = sandbox.state().opt_out_lists["Default"]
    default.entries["+12065550150"] = OptOutEntry(sandbox.world.clock.now(), end_user_opted_out=True)
    del default.entries["+12065550101"]
    assert listed("true") == ["+12065550102", "+12065550150"]
    assert listed("false") == ["+12065550103", "+12065550104"]
