"""Contract tests: opt-out lists, opted-out numbers, end-user STOP replies."""

from __future__ import annotations

import pytest
from sms_support import OWNER, REGION, Sandbox, error_of, toll_free

from reconciler.sandbox.handlers.opt_outs import simulate_inbound_stop


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def test_default_list_exists_and_counts_towards_the_quota(sandbox: Sandbox) -> None:
    client = sandbox.client()
    lists = client.describe_opt_out_lists()["OptOutLists"]
    assert [(o["OptOutListName"], o["OptOutListArn"]) for o in lists] == [
        ("Default", f"arn:aws:sms-voice:{REGION}:{OWNER}:opt-out-list/Default")
    ]
    for index in range(24):
        created = client.create_opt_out_list(OptOutListName=f"list-{index:02d}", Tags=[{"Key": "i", "Value": str(index)}])
        assert created["Tags"] == [{"Key": "i", "Value": str(index)}]
    with pytest.raises(client.exceptions.ServiceQuotaExceededException) as excinfo:
        client.create_opt_out_list(OptOutListName="one-too-many")
    assert error_of(excinfo)["Reason"] == "OPT_OUT_LISTS_PER_ACCOUNT"
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.create_opt_out_list(OptOutListName="list-00")
    assert error_of(excinfo)["Reason"] == "RESOURCE_ALREADY_EXISTS"
    names = [o["OptOutListName"] for o in client.describe_opt_out_lists(MaxResults=100)["OptOutLists"]]
    assert len(names) == 25 and "Default" in names


def test_delete_opt_out_list_rules(sandbox: Sandbox) -> None:
    client = sandbox.client()
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.delete_opt_out_list(OptOutListName="Default")
    assert error_of(excinfo)["Reason"] == "RESOURCE_DELETION_NOT_ALLOWED"
    client.create_opt_out_list(OptOutListName="in-use")
    number = toll_free(client, OptOutListName="in-use")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.delete_opt_out_list(OptOutListName="in-use")
    assert (error_of(excinfo)["ResourceType"], error_of(excinfo)["ResourceId"]) == ("opt-out-list", "in-use")
    client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="Default")
    deleted = client.delete_opt_out_list(OptOutListName=f"arn:aws:sms-voice:{REGION}:{OWNER}:opt-out-list/in-use")
    assert deleted["OptOutListName"] == "in-use"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.describe_opt_out_lists(OptOutListNames=["in-use"])
    assert error_of(excinfo)["ResourceType"] == "opt-out-list"


def test_put_describe_delete_opted_out_numbers(sandbox: Sandbox) -> None:
    client = sandbox.client()
    client.create_opt_out_list(OptOutListName="main")
    put = client.put_opted_out_number(OptOutListName="main", OptedOutNumber="+12065550100")
    assert (put["OptedOutNumber"], put["EndUserOptedOut"], put["OptOutListName"]) == ("+12065550100", False, "main")
    client.put_opted_out_number(OptOutListName="main", OptedOutNumber="+12065550101")
    named = client.describe_opted_out_numbers(
        OptOutListName="main", OptedOutNumbers=["+12065550101", "+12065550199"]
    )["OptedOutNumbers"]
    assert [n["OptedOutNumber"] for n in named] == ["+12065550101"]
    with pytest.raises(client.exceptions.ValidationException):
        client.describe_opted_out_numbers(OptOutListName="main", OptedOutNumbers=["+12065550100"] * 6)
    with pytest.raises(client.exceptions.ValidationException):
        client.put_opted_out_number(OptOutListName="main", OptedOutNumber="12065550100")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.put_opted_out_number(OptOutListName="absent", OptedOutNumber="+12065550100")
    assert error_of(excinfo)["ResourceId"] == "absent"
    deleted = client.delete_opted_out_number(OptOutListName="main", OptedOutNumber="+12065550100")
    assert deleted["OptedOutNumber"] == "+12065550100"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.delete_opted_out_number(OptOutListName="main", OptedOutNumber="+12065550100")
    assert (error_of(excinfo)["ResourceType"], error_of(excinfo)["ResourceId"]) == ("opted-out-number", "+12065550100")


def test_a_number_can_be_deleted_once_every_30_days(sandbox: Sandbox) -> None:
    client = sandbox.client()
    client.put_opted_out_number(OptOutListName="Default", OptedOutNumber="+12065550100")
    client.delete_opted_out_number(OptOutListName="Default", OptedOutNumber="+12065550100")
    client.put_opted_out_number(OptOutListName="Default", OptedOutNumber="+12065550100")
    sandbox.advance(29 * 86400)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.delete_opted_out_number(OptOutListName="Default", OptedOutNumber="+12065550100")
    assert error_of(excinfo)["Reason"] == "PHONE_NUMBER_CANNOT_BE_OPTED_IN"
    assert client.describe_opted_out_numbers(OptOutListName="Default")["OptedOutNumbers"]  # still listed
    sandbox.advance(86400)
    client.delete_opted_out_number(OptOutListName="Default", OptedOutNumber="+12065550100")
    assert client.describe_opted_out_numbers(OptOutListName="Default")["OptedOutNumbers"] == []


def test_end_user_stop_reply_and_filter(sandbox: Sandbox) -> None:
    client = sandbox.client()
    client.create_opt_out_list(OptOutListName="alerts")
    number = toll_free(client, OptOutListName="alerts")
    client.put_opted_out_number(OptOutListName="alerts", OptedOutNumber="+12065550100")
    entry = simulate_inbound_stop(sandbox.world, OWNER, REGION, number["PhoneNumberId"], "+12065550111")
    assert entry is not None and entry["EndUserOptedOut"] is True and entry["OptOutListName"] == "alerts"
    # A non-opt-out keyword changes nothing.
    assert simulate_inbound_stop(sandbox.world, OWNER, REGION, number["PhoneNumberArn"], "+12065550122", "HELLO") is None

    def listed(value: str) -> list[tuple[str, bool]]:
        page = client.describe_opted_out_numbers(
            OptOutListName="alerts", Filters=[{"Name": "end-user-opted-out", "Values": [value]}]
        )
        return [(n["OptedOutNumber"], n["EndUserOptedOut"]) for n in page["OptedOutNumbers"]]

    assert listed("true") == [("+12065550111", True)]
    assert listed("false") == [("+12065550100", False)]
    # Putting an end user's number again keeps the end user's own opt-out.
    again = client.put_opted_out_number(OptOutListName="alerts", OptedOutNumber="+12065550111")
    assert again["EndUserOptedOut"] is True
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.describe_opted_out_numbers(
            OptOutListName="alerts", Filters=[{"Name": "opted-out-after", "Values": ["2020-01-01"]}]
        )
    assert error_of(excinfo)["Code"] == "ValidationException"


def test_self_managed_opt_outs_are_not_recorded(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client)
    client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], SelfManagedOptOutsEnabled=True)
    assert simulate_inbound_stop(sandbox.world, OWNER, REGION, number["PhoneNumberId"], "+12065550111") is None
    assert client.describe_opted_out_numbers(OptOutListName="Default")["OptedOutNumbers"] == []


def test_stop_to_a_pooled_number_lands_in_the_pool_list(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client)
    pool = client.create_pool(OriginationIdentity=number["PhoneNumberId"], MessageType="TRANSACTIONAL")
    client.create_opt_out_list(OptOutListName="pool-list")
    client.update_pool(PoolId=pool["PoolId"], OptOutListName="pool-list")
    simulate_inbound_stop(sandbox.world, OWNER, REGION, number["PhoneNumber"], "+12065550111")
    numbers = client.describe_opted_out_numbers(OptOutListName="pool-list")["OptedOutNumbers"]
    assert [n["OptedOutNumber"] for n in numbers] == ["+12065550111"]
