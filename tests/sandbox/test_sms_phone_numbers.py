"""Contract tests: phone numbers and sender IDs through real boto3 clients."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from sms_support import OWNER, REGION, Sandbox, error_of, long_code, toll_free


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def test_request_phone_number_returns_an_aws_shaped_active_number(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client, Tags=[{"Key": "team", "Value": "alerts"}])
    assert re.fullmatch(r"phone-[0-9a-f]{32}", number["PhoneNumberId"])
    assert number["PhoneNumberArn"] == f"arn:aws:sms-voice:{REGION}:{OWNER}:phone-number/{number['PhoneNumberId']}"
    assert number["PhoneNumber"].startswith("+1")
    assert number["Status"] == "ACTIVE"
    assert number["OptOutListName"] == "Default"
    assert number["InternationalSendingEnabled"] is False
    assert number["Tags"] == [{"Key": "team", "Value": "alerts"}]
    listed = client.describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberArn"]])["PhoneNumbers"]
    assert [n["PhoneNumberId"] for n in listed] == [number["PhoneNumberId"]]
    assert sandbox.shape_checks >= 2


def test_international_sending_seed_walkthrough(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number_id = toll_free(client)["PhoneNumberId"]
    enabled = client.update_phone_number(PhoneNumberId=number_id, InternationalSendingEnabled=True)
    assert enabled["InternationalSendingEnabled"] is True
    assert client.describe_phone_numbers(PhoneNumberIds=[number_id])["PhoneNumbers"][0]["InternationalSendingEnabled"]
    disabled = client.update_phone_number(PhoneNumberId=number_id, InternationalSendingEnabled=False)
    assert disabled["InternationalSendingEnabled"] is False
    assert not client.describe_phone_numbers(PhoneNumberIds=[number_id])["PhoneNumbers"][0]["InternationalSendingEnabled"]


def test_international_sending_only_for_us_toll_free(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number_id = long_code(client, "GB")["PhoneNumberId"]
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.update_phone_number(PhoneNumberId=number_id, InternationalSendingEnabled=True)
    assert error_of(excinfo)["Reason"] == "INTERNATIONAL_SENDING_NOT_SUPPORTED"
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        long_code(client, "GB", InternationalSendingEnabled=True)
    assert error_of(excinfo)["Reason"] == "INTERNATIONAL_SENDING_NOT_SUPPORTED"
    assert len(sandbox.state().phone_numbers) == 1  # the refused request created nothing


def test_update_phone_number_settings_and_unknown_opt_out_list(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number_id = toll_free(client)["PhoneNumberId"]
    client.create_opt_out_list(OptOutListName="marketing")
    updated = client.update_phone_number(
        PhoneNumberId=number_id, OptOutListName="marketing", SelfManagedOptOutsEnabled=True, DeletionProtectionEnabled=True
    )
    assert (updated["OptOutListName"], updated["SelfManagedOptOutsEnabled"], updated["DeletionProtectionEnabled"]) == (
        "marketing",
        True,
        True,
    )
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.update_phone_number(PhoneNumberId=number_id, OptOutListName="missing", DeletionProtectionEnabled=False)
    assert error_of(excinfo) | {"Message": ""} == {
        "Code": "ResourceNotFoundException",
        "Message": "",
        "ResourceType": "opt-out-list",
        "ResourceId": "missing",
    }
    # Nothing changed by the refused update.
    assert client.describe_phone_numbers(PhoneNumberIds=[number_id])["PhoneNumbers"][0]["DeletionProtectionEnabled"]
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.update_phone_number(PhoneNumberId=number_id, TwoWayEnabled=True)
    assert error_of(excinfo)["Reason"] == "TWO_WAY_CHANNEL_NOT_PRESENT"
    channel = "arn:aws:sns:us-east-1:111122223333:inbound"
    two_way = client.update_phone_number(PhoneNumberId=number_id, TwoWayEnabled=True, TwoWayChannelArn=channel)
    assert two_way["TwoWayEnabled"] and two_way["TwoWayChannelArn"] == channel


def test_pooled_number_cannot_be_updated_or_released(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number_id = toll_free(client)["PhoneNumberId"]
    client.create_pool(OriginationIdentity=number_id, MessageType="TRANSACTIONAL")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.update_phone_number(PhoneNumberId=number_id, InternationalSendingEnabled=True)
    assert error_of(excinfo) | {"Message": ""} == {
        "Code": "ConflictException",
        "Message": "",
        "Reason": "PHONE_NUMBER_ASSOCIATED_TO_POOL",
        "ResourceType": "phone-number",
        "ResourceId": number_id,
    }
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.release_phone_number(PhoneNumberId=number_id)
    assert error_of(excinfo)["Reason"] == "PHONE_NUMBER_ASSOCIATED_TO_POOL"


def test_release_respects_deletion_protection(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client, DeletionProtectionEnabled=True)
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.release_phone_number(PhoneNumberId=number["PhoneNumberId"])
    assert error_of(excinfo)["Reason"] == "DELETION_PROTECTION_ENABLED"
    assert error_of(excinfo)["ResourceId"] == number["PhoneNumberId"]
    client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], DeletionProtectionEnabled=False)
    released = client.release_phone_number(PhoneNumberId=number["PhoneNumberArn"])
    assert released["Status"] == "DELETED"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberId"]])
    assert error_of(excinfo)["ResourceType"] == "phone-number"
    assert number["PhoneNumberArn"] not in sandbox.state().tags


def test_describe_phone_numbers_filters(sandbox: Sandbox) -> None:
    client = sandbox.client()
    tf = toll_free(client)["PhoneNumberId"]
    gb = long_code(client, "GB")["PhoneNumberId"]
    client.update_phone_number(PhoneNumberId=tf, DeletionProtectionEnabled=True)

    def ids(**kwargs: object) -> list[str]:
        return sorted(n["PhoneNumberId"] for n in client.describe_phone_numbers(**kwargs)["PhoneNumbers"])

    assert ids(Filters=[{"Name": "number-type", "Values": ["TOLL_FREE"]}]) == [tf]
    assert ids(Filters=[{"Name": "iso-country-code", "Values": ["GB", "FR"]}]) == [gb]
    assert ids(Filters=[{"Name": "deletion-protection-enabled", "Values": ["true"]}]) == [tf]
    assert ids(Filters=[{"Name": "number-capability", "Values": ["VOICE"]}]) == [tf]
    assert ids(
        Filters=[{"Name": "number-capability", "Values": ["SMS"]}, {"Name": "iso-country-code", "Values": ["US"]}]
    ) == [tf]
    assert ids() == sorted([tf, gb])
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        ids(Filters=[{"Name": "deletion-protection-enabled", "Values": ["maybe"]}])
    assert error_of(excinfo)["Reason"] == "INVALID_FILTER_VALUES"


def test_limits_rejected_as_aws_does(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number_id = toll_free(client)["PhoneNumberId"]
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.describe_phone_numbers(PhoneNumberIds=[number_id] * 6)
    assert error_of(excinfo)["Reason"] == "FIELD_VALIDATION_FAILED"
    with pytest.raises(client.exceptions.ValidationException):
        client.describe_phone_numbers(MaxResults=101)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.describe_phone_numbers(Filters=[{"Name": "colour", "Values": ["blue"]}])
    assert error_of(excinfo)["Fields"][0]["Name"].startswith("Filters")
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.describe_sender_ids(MaxResults=0)
    assert client.describe_phone_numbers(PhoneNumberIds=[number_id] * 5)["PhoneNumbers"][0]["PhoneNumberId"] == number_id


def test_request_rules(sandbox: Sandbox) -> None:
    client = sandbox.client()
    with pytest.raises(client.exceptions.ValidationException):
        client.request_phone_number(
            IsoCountryCode="GB", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
        )
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        toll_free(client, OptOutListName="nope")
    assert error_of(excinfo)["ResourceType"] == "opt-out-list"
    with pytest.raises(client.exceptions.ValidationException):
        toll_free(client, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert sandbox.state().phone_numbers == {}


def test_sender_ids_lifecycle(sandbox: Sandbox) -> None:
    client = sandbox.client()
    sender = client.request_sender_id(SenderId="DEMOTP", IsoCountryCode="GB")
    assert sender["SenderIdArn"] == f"arn:aws:sms-voice:{REGION}:{OWNER}:sender-id/DEMOTP/GB"
    assert (sender["MessageTypes"], sender["Registered"], sender["MonthlyLeasingPrice"]) == (["TRANSACTIONAL"], False, "0.00")
    client.request_sender_id(SenderId="DEMOTP", IsoCountryCode="FR", DeletionProtectionEnabled=True)
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.request_sender_id(SenderId="DEMOTP", IsoCountryCode="GB")
    assert error_of(excinfo)["Reason"] == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.request_sender_id(SenderId="DEMOTP", IsoCountryCode="US")
    assert error_of(excinfo)["Reason"] == "SENDER_ID_NOT_SUPPORTED"

    described = client.describe_sender_ids(SenderIds=[{"SenderId": "DEMOTP", "IsoCountryCode": "FR"}])["SenderIds"]
    assert [(s["IsoCountryCode"], s["DeletionProtectionEnabled"]) for s in described] == [("FR", True)]
    filtered = client.describe_sender_ids(Filters=[{"Name": "iso-country-code", "Values": ["GB"]}])["SenderIds"]
    assert [s["SenderIdArn"] for s in filtered] == [sender["SenderIdArn"]]

    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.release_sender_id(SenderId="DEMOTP", IsoCountryCode="FR")
    assert error_of(excinfo)["Reason"] == "DELETION_PROTECTION_ENABLED"
    updated = client.update_sender_id(SenderId="DEMOTP", IsoCountryCode="FR", DeletionProtectionEnabled=False)
    assert (updated["IsoCountryCode"], updated["DeletionProtectionEnabled"]) == ("FR", False)
    client.release_sender_id(SenderId="DEMOTP", IsoCountryCode="FR")  # protection off: released
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_sender_id(SenderId="DEMOTP", IsoCountryCode="FR", DeletionProtectionEnabled=True)
    pool = client.create_pool(OriginationIdentity="DEMOTP", IsoCountryCode="GB", MessageType="TRANSACTIONAL")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.release_sender_id(SenderId=sender["SenderIdArn"], IsoCountryCode="GB")
    assert error_of(excinfo)["Reason"] == "SENDER_ID_ASSOCIATED_TO_POOL"
    client.delete_pool(PoolId=pool["PoolId"])
    released = client.release_sender_id(SenderId="DEMOTP", IsoCountryCode="GB")
    assert released["SenderIdArn"] == sender["SenderIdArn"]
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.describe_sender_ids(SenderIds=[{"SenderId": "DEMOTP", "IsoCountryCode": "GB"}])
    assert error_of(excinfo)["ResourceType"] == "sender-id"


def test_other_accounts_numbers_are_invisible_without_a_share(sandbox: Sandbox) -> None:
    owner = sandbox.client()
    stranger = sandbox.client("999988887777")
    number = toll_free(owner)
    assert stranger.describe_phone_numbers()["PhoneNumbers"] == []
    assert stranger.describe_phone_numbers(Owner="SHARED")["PhoneNumbers"] == []
    with pytest.raises(ClientError) as excinfo:
        stranger.describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberArn"]])
    assert error_of(excinfo)["Code"] == "ResourceNotFoundException"
    # IAM refuses a change to another account's resource before the service looks it up.
    with pytest.raises(stranger.exceptions.AccessDeniedException) as excinfo:
        stranger.update_phone_number(PhoneNumberId=number["PhoneNumberArn"], DeletionProtectionEnabled=True)
    assert "is not authorized to perform: sms-voice:UpdatePhoneNumber" in excinfo.value.response["Error"]["Message"]
    assert owner.describe_phone_numbers()["PhoneNumbers"][0]["DeletionProtectionEnabled"] is False
