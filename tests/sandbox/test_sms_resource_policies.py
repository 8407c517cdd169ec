"""PutResourcePolicy / GetResourcePolicy / DeleteResourcePolicy: AWS's grammar, RAM's linked
CREATED_FROM_POLICY share, and a consumer's calls authorized by exactly what the policy grants
(docs/sandbox-operations.md, *Resource policies*)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from platform_support import CONSUMER, OUTSIDER, OWNER

SMS = "pinpoint-sms-voice-v2"
DESTINATION = "+12065550142"


def document(arn: str, actions: list[str], accounts: list[str] | None = None, **extra: Any) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": accounts or [CONSUMER]}, "Action": actions, "Resource": arn,
                 **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def number(sandbox: Any) -> str:
    sms = sandbox.raw_client(SMS, OWNER)
    return str(sms.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                        NumberType="TOLL_FREE")["PhoneNumberArn"])


def error_of(caught: Any) -> dict[str, Any]:
    """Code, Message and the service's extra members (Reason, ResourceType, ...) of a ClientError."""
    response = caught.value.response
    return {**response, **response.get("Error", {})}


def send(sandbox: Any, origination: str, account: str = CONSUMER) -> dict[str, Any]:
    return dict(sandbox.raw_client(SMS, account).send_text_message(
        DestinationPhoneNumber=DESTINATION, OriginationIdentity=origination, MessageBody="hi"))


def test_put_get_delete_round_trip_and_the_linked_share(sandbox: Any, number: str) -> None:
    sms, ram = sandbox.raw_client(SMS, OWNER), sandbox.raw_client("ram", OWNER)
    text = document(number, ["sms-voice:SendTextMessage"])
    put = sms.put_resource_policy(ResourceArn=number, Policy=text)
    assert (put["ResourceArn"], put["Policy"]) == (number, text)
    assert sms.get_resource_policy(ResourceArn=number)["Policy"] == text
    [share] = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert share["featureSet"] == "CREATED_FROM_POLICY"
    principals = ram.get_resource_share_associations(associationType="PRINCIPAL")["resourceShareAssociations"]
    assert [(p["associatedEntity"], p["status"]) for p in principals] == [(CONSUMER, "ASSOCIATED")]
    # RAM refuses to change it: the policy is the only way.
    with pytest.raises(ram.exceptions.OperationNotPermittedException):
        ram.disassociate_resource_share(resourceShareArn=share["resourceShareArn"], principals=[CONSUMER])

    # A new policy moves the linked share's principals; no second share appears.
    sms.put_resource_policy(ResourceArn=number, Policy=document(number, ["sms-voice:SendTextMessage"], [OUTSIDER]))
    [again] = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert again["resourceShareArn"] == share["resourceShareArn"]
    live = ram.get_resource_share_associations(associationType="PRINCIPAL", associationStatus="ASSOCIATED")
    assert [p["associatedEntity"] for p in live["resourceShareAssociations"]] == [OUTSIDER]

    assert sms.delete_resource_policy(ResourceArn=number)["ResourceArn"] == number
    assert ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus="ACTIVE")["resourceShares"] == []
    for call in (sms.get_resource_policy, sms.delete_resource_policy):
        with pytest.raises(ClientError) as caught:
            call(ResourceArn=number)
        assert error_of(caught)["ResourceType"] == "policy"


@pytest.mark.parametrize(("mutate", "reason", "words"), [
    (lambda arn: "{not json", "CANNOT_PARSE", "not valid JSON"),
    (lambda arn: json.dumps({"Version": "2008-10-17", "Statement": []}), "INVALID_PARAMETER", "Version"),
    (lambda arn: document(arn, ["sms-voice:DeleteOptOutList"]), "INVALID_PARAMETER", "cannot be granted"),
    (lambda arn: document(arn, ["sms-voice:*"]), "INVALID_PARAMETER", "cannot be granted"),
    (lambda arn: document(arn, ["sms-voice:SendTextMessage"], ["arn:aws:iam::444455556666:role/app"]),
     "INVALID_PARAMETER", "not IAM users or roles"),
    (lambda arn: document(arn, ["sms-voice:SendTextMessage"], [OWNER]), "INVALID_PARAMETER", "own account"),
    (lambda arn: document(arn, ["sms-voice:SendTextMessage"], ["*"]), "INVALID_PARAMETER", "not an account id"),
    (lambda arn: document(arn.replace("phone-", "phone-0"), ["sms-voice:SendTextMessage"]),
     "INVALID_PARAMETER", "must be the ARN"),
    (lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": CONSUMER}, "Action": "sms-voice:SendTextMessage", "Resource": arn}]}),
     "INVALID_PARAMETER", "Allow"),
])
def test_a_policy_outside_the_grammar_is_refused_and_changes_nothing(sandbox: Any, number: str, mutate: Any,
                                                                     reason: str, words: str) -> None:
    sms = sandbox.raw_client(SMS, OWNER)
    with pytest.raises(ClientError) as caught:
        sms.put_resource_policy(ResourceArn=number, Policy=mutate(number))
    error = error_of(caught)
    assert (error["Code"], error["Reason"]) == ("ValidationException", reason)
    assert words in error["Message"]
    assert sandbox.raw_client("ram", OWNER).get_resource_shares(resourceOwner="SELF")["resourceShares"] == []


def test_a_policy_longer_than_10000_characters_is_refused_by_the_model(sandbox: Any, number: str) -> None:
    sms = sandbox.raw_client(SMS, OWNER)
    text = document(number, ["sms-voice:SendTextMessage"], Sid="x" * 10_000)
    with pytest.raises(ClientError) as caught:
        sms.put_resource_policy(ResourceArn=number, Policy=text)
    assert error_of(caught)["Reason"] == "FIELD_VALIDATION_FAILED"


def test_only_the_owner_attaches_policies_and_only_to_shareable_types(sandbox: Any, number: str) -> None:
    consumer = sandbox.raw_client(SMS, CONSUMER)
    with pytest.raises(ClientError) as caught:
        consumer.put_resource_policy(ResourceArn=number, Policy=document(number, ["sms-voice:SendTextMessage"]))
    assert error_of(caught)["Code"] == "AccessDeniedException"  # management of another account's resource
    owner = sandbox.raw_client(SMS, OWNER)
    config_set = owner.create_configuration_set(ConfigurationSetName="cs")["ConfigurationSetArn"]
    with pytest.raises(ClientError) as caught:
        owner.get_resource_policy(ResourceArn=config_set)
    assert error_of(caught)["Reason"] == "INVALID_ARN"


def test_a_consumer_sends_exactly_when_the_policy_grants_the_send(sandbox: Any, number: str) -> None:
    sms = sandbox.raw_client(SMS, OWNER)
    with pytest.raises(ClientError) as caught:
        send(sandbox, number)
    assert error_of(caught)["Code"] == "ResourceNotFoundException"  # not shared at all: not visible

    sms.put_resource_policy(ResourceArn=number, Policy=document(number, ["sms-voice:DescribePhoneNumbers"]))
    with pytest.raises(ClientError) as caught:
        send(sandbox, number)
    assert error_of(caught)["Code"] == "AccessDeniedException"
    assert "sms-voice:SendTextMessage" in error_of(caught)["Message"]

    sms.put_resource_policy(ResourceArn=number, Policy=document(number, ["sms-voice:SendTextMessage"]))
    assert send(sandbox, number)["MessageId"]
    with pytest.raises(ClientError) as caught:  # granted to CONSUMER, not to OUTSIDER
        send(sandbox, number, OUTSIDER)
    assert error_of(caught)["Code"] in ("ResourceNotFoundException", "AccessDeniedException")

    # A statement confined by a condition (for a service) grants an account's own call nothing.
    conditional = document(number, ["sms-voice:SendTextMessage"],
                           Condition={"StringEquals": {"aws:SourceAccount": CONSUMER}})
    sms.put_resource_policy(ResourceArn=number, Policy=conditional)
    with pytest.raises(ClientError) as caught:
        send(sandbox, number)
    assert error_of(caught)["Code"] == "AccessDeniedException"

    sms.delete_resource_policy(ResourceArn=number)
    with pytest.raises(ClientError):
        send(sandbox, number)


def test_a_ram_share_grants_the_send_too(sandbox: Any, number: str) -> None:
    ram = sandbox.raw_client("ram", OWNER)
    sandbox.world.organization = {OWNER: "o-aaaaaaaaaa/r-root", CONSUMER: "o-aaaaaaaaaa/r-root"}
    ram.create_resource_share(name="s", principals=[CONSUMER], resourceArns=[number])
    assert send(sandbox, number)["MessageId"]


def test_a_shared_opt_out_list_is_written_only_with_the_granted_action(sandbox: Any) -> None:
    sms = sandbox.raw_client(SMS, OWNER)
    arn = sms.create_opt_out_list(OptOutListName="shared")["OptOutListArn"]
    sms.put_resource_policy(ResourceArn=arn, Policy=document(arn, ["sms-voice:DescribeOptedOutNumbers"]))
    consumer = sandbox.raw_client(SMS, CONSUMER)
    assert consumer.describe_opted_out_numbers(OptOutListName=arn)["OptedOutNumbers"] == []
    with pytest.raises(ClientError) as caught:
        consumer.put_opted_out_number(OptOutListName=arn, OptedOutNumber=DESTINATION)
    assert error_of(caught)["Code"] == "AccessDeniedException"
    sms.put_resource_policy(ResourceArn=arn, Policy=document(
        arn, ["sms-voice:DescribeOptedOutNumbers", "sms-voice:PutOptedOutNumber"]))
    consumer.put_opted_out_number(OptOutListName=arn, OptedOutNumber=DESTINATION)
    assert [n["OptedOutNumber"] for n in sms.describe_opted_out_numbers(OptOutListName="shared")["OptedOutNumbers"]] \
        == [DESTINATION]


def test_promotion_hands_the_grant_to_ram(sandbox: Any, number: str) -> None:
    sms, ram = sandbox.raw_client(SMS, OWNER), sandbox.raw_client("ram", OWNER)
    sms.put_resource_policy(ResourceArn=number, Policy=document(number, ["sms-voice:SendTextMessage"]))
    [share] = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    ram.promote_resource_share_created_from_policy(resourceShareArn=share["resourceShareArn"])
    with pytest.raises(ClientError) as caught:
        sms.get_resource_policy(ResourceArn=number)
    assert error_of(caught)["ResourceType"] == "policy"
    assert send(sandbox, number)["MessageId"]  # the STANDARD share grants it now
