"""Fidelity regressions: behaviours where the sandbox was more lenient than AWS documents.

Each test names the AWS page it follows; each failed against the lenient sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest
from platform_support import accept_invitations
from sms_support import CONSUMER, OWNER, START, Sandbox, error_of, toll_free

START_PLUS_HOUR = START + 3600


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def _sender_id(client: Any, sender: str = "DEMOTP", country: str = "GB") -> dict[str, Any]:
    return client.request_sender_id(SenderId=sender, IsoCountryCode=country, MessageTypes=["TRANSACTIONAL"])


# --- Owner together with IDs (API reference, the Owner member of each Describe operation:
# "The Owner and <ids> parameters can't be used at the same time") -------------------------------


def _owner_with_ids_calls(client: Any) -> list[tuple[str, dict[str, Any]]]:
    number = toll_free(client)
    client.create_opt_out_list(OptOutListName="central")
    pool = client.create_pool(OriginationIdentity=number["PhoneNumberId"], MessageType="TRANSACTIONAL")
    _sender_id(client)
    return [
        ("describe_opt_out_lists", {"OptOutListNames": ["central"]}),
        ("describe_phone_numbers", {"PhoneNumberIds": [number["PhoneNumberId"]]}),
        ("describe_pools", {"PoolIds": [pool["PoolId"]]}),
        ("describe_sender_ids", {"SenderIds": [{"SenderId": "DEMOTP", "IsoCountryCode": "GB"}]}),
    ]


@pytest.mark.parametrize("owner", ["SELF", "SHARED"])
def test_owner_with_ids_is_refused(sandbox: Sandbox, owner: str) -> None:
    client = sandbox.client()
    for operation, ids in _owner_with_ids_calls(client):
        with pytest.raises(client.exceptions.ValidationException) as excinfo:
            getattr(client, operation)(Owner=owner, **ids)
        error = error_of(excinfo)
        (member,) = ids
        assert error["Reason"] == "PARAMETERS_CANNOT_BE_USED_TOGETHER", operation
        assert {field["Name"] for field in error["Fields"]} == {"Owner", member}
        # Without Owner the same IDs describe the caller's own resources.
        assert len(next(iter(v for k, v in getattr(client, operation)(**ids).items() if k != "ResponseMetadata"))) == 1


def test_shared_resources_are_described_by_full_arn_without_owner(sandbox: Sandbox) -> None:
    owner = sandbox.client(OWNER)
    consumer = sandbox.client(CONSUMER)
    opt_out_list = owner.create_opt_out_list(OptOutListName="central")
    ram = sandbox.session(OWNER).client("ram")
    ram.create_resource_share(name="lists", resourceArns=[opt_out_list["OptOutListArn"]], principals=[CONSUMER])
    accept_invitations(sandbox.session(CONSUMER).client("ram"))  # an account outside the organization
    described = consumer.describe_opt_out_lists(OptOutListNames=[opt_out_list["OptOutListArn"]])["OptOutLists"]
    assert [o["OptOutListArn"] for o in described] == [opt_out_list["OptOutListArn"]]
    # A bare name is always the caller's own list: the consumer has none called "central".
    with pytest.raises(consumer.exceptions.ResourceNotFoundException):
        consumer.describe_opt_out_lists(OptOutListNames=["central"])


# --- A sender ID in several pools (API reference, AssociateOriginationIdentity: "A sender ID can be
# associated with multiple pools"; a phone number cannot) -------------------------------------


def test_a_sender_id_joins_several_pools_a_phone_number_only_one(sandbox: Sandbox) -> None:
    client = sandbox.client()
    sender = _sender_id(client)
    first = client.create_pool(OriginationIdentity="DEMOTP", IsoCountryCode="GB", MessageType="TRANSACTIONAL")
    second = client.create_pool(OriginationIdentity=sender["SenderIdArn"], IsoCountryCode="GB", MessageType="TRANSACTIONAL")
    number = toll_free(client)
    third = client.create_pool(OriginationIdentity=number["PhoneNumberId"], MessageType="TRANSACTIONAL")
    client.associate_origination_identity(PoolId=third["PoolId"], OriginationIdentity="DEMOTP", IsoCountryCode="GB")
    for pool in (first, second, third):
        members = client.list_pool_origination_identities(PoolId=pool["PoolId"])["OriginationIdentities"]
        assert sender["SenderIdArn"] in [m["OriginationIdentityArn"] for m in members]
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.associate_origination_identity(PoolId=first["PoolId"], OriginationIdentity="DEMOTP", IsoCountryCode="GB")
    assert error_of(excinfo)["Reason"] == "RESOURCE_ALREADY_ASSOCIATED"
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.associate_origination_identity(PoolId=first["PoolId"], OriginationIdentity=number["PhoneNumberId"], IsoCountryCode="US")
    assert error_of(excinfo)["Reason"] == "PHONE_NUMBER_ASSOCIATED_TO_POOL"
    # Leaving one pool keeps the others; the sender ID cannot be released while any pool holds it.
    client.disassociate_origination_identity(PoolId=third["PoolId"], OriginationIdentity="DEMOTP", IsoCountryCode="GB")
    client.delete_pool(PoolId=first["PoolId"])
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.release_sender_id(SenderId="DEMOTP", IsoCountryCode="GB")
    assert error_of(excinfo)["Reason"] == "SENDER_ID_ASSOCIATED_TO_POOL"
    client.delete_pool(PoolId=second["PoolId"])
    assert client.release_sender_id(SenderId="DEMOTP", IsoCountryCode="GB")["SenderIdArn"] == sender["SenderIdArn"]


# --- Resource quotas (user guide, "Quotas for AWS End User Messaging SMS": "By default you can have
# up to 25 protect configurations"; reason PROTECT_CONFIGURATIONS_PER_ACCOUNT in the model) ------


def test_the_26th_protect_configuration_is_refused_unless_the_quota_was_raised(sandbox: Sandbox) -> None:
    client = sandbox.client()
    for index in range(25):
        client.create_protect_configuration(Tags=[{"Key": "Name", "Value": f"pc-{index}"}])
    with pytest.raises(client.exceptions.ServiceQuotaExceededException) as excinfo:
        client.create_protect_configuration(Tags=[{"Key": "Name", "Value": "one-too-many"}])
    assert error_of(excinfo)["Reason"] == "PROTECT_CONFIGURATIONS_PER_ACCOUNT"
    assert len(sandbox.state().protect_configurations) == 25
    # Per account and Region: another account still has its 25.
    sandbox.client(CONSUMER).create_protect_configuration()
    sandbox.world.settings["quota.protect_configurations"] = {OWNER: 26}
    client.create_protect_configuration(Tags=[{"Key": "Name", "Value": "raised"}])
    assert len(sandbox.state().protect_configurations) == 26


def test_a_configured_number_override_quota_counts_live_overrides_only(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config = client.create_protect_configuration()["ProtectConfigurationId"]
    sandbox.world.settings["quota.number_overrides_per_protect_configuration"] = 2
    put = client.put_protect_configuration_rule_set_number_override
    put(ProtectConfigurationId=config, DestinationPhoneNumber="+12065550100", Action="BLOCK")
    put(ProtectConfigurationId=config, DestinationPhoneNumber="+12065550101", Action="ALLOW", ExpirationTimestamp=START_PLUS_HOUR)
    put(ProtectConfigurationId=config, DestinationPhoneNumber="+12065550100", Action="ALLOW")  # a replacement
    with pytest.raises(client.exceptions.ServiceQuotaExceededException):
        put(ProtectConfigurationId=config, DestinationPhoneNumber="+12065550102", Action="BLOCK")
    sandbox.advance(7200)  # the expiring override lapses and frees its place
    put(ProtectConfigurationId=config, DestinationPhoneNumber="+12065550102", Action="BLOCK")
