"""Contract tests: pools, their origination identities, and configuration sets."""

from __future__ import annotations

import re

import pytest
from sms_support import OWNER, REGION, Sandbox, error_of, long_code, toll_free


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def test_pool_lifecycle(sandbox: Sandbox) -> None:
    client = sandbox.client()
    first = toll_free(client)
    second = toll_free(client)
    pool = client.create_pool(
        OriginationIdentity=first["PhoneNumberArn"], MessageType="TRANSACTIONAL", Tags=[{"Key": "Name", "Value": "otp"}]
    )
    assert re.fullmatch(r"pool-[0-9a-f]{32}", pool["PoolId"])
    assert pool["PoolArn"] == f"arn:aws:sms-voice:{REGION}:{OWNER}:pool/{pool['PoolId']}"
    assert (pool["Status"], pool["OptOutListName"], pool["Tags"]) == ("ACTIVE", "Default", [{"Key": "Name", "Value": "otp"}])
    assert client.describe_phone_numbers(PhoneNumberIds=[first["PhoneNumberId"]])["PhoneNumbers"][0]["PoolId"] == pool["PoolId"]

    associated = client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumber"].lstrip("+"))
    assert (associated["OriginationIdentity"], associated["OriginationIdentityArn"]) == (
        second["PhoneNumberId"],
        second["PhoneNumberArn"],
    )
    members = client.list_pool_origination_identities(PoolId=pool["PoolArn"])["OriginationIdentities"]
    assert sorted(m["PhoneNumber"] for m in members) == sorted([first["PhoneNumber"], second["PhoneNumber"]])

    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberId"])
    assert error_of(excinfo)["Reason"] == "RESOURCE_ALREADY_ASSOCIATED"

    client.disassociate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberId"])
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.disassociate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberId"])
    assert error_of(excinfo)["Reason"] == "PHONE_NUMBER_NOT_ASSOCIATED_TO_POOL"
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.disassociate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=first["PhoneNumberId"])
    assert error_of(excinfo) | {"Message": ""} == {
        "Code": "ConflictException",
        "Message": "",
        "Reason": "LAST_PHONE_NUMBER",
        "ResourceType": "pool",
        "ResourceId": pool["PoolId"],
    }

    client.update_pool(PoolId=pool["PoolId"], DeletionProtectionEnabled=True)
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.delete_pool(PoolId=pool["PoolId"])
    assert error_of(excinfo)["Reason"] == "DELETION_PROTECTION_ENABLED"
    client.update_pool(PoolId=pool["PoolId"], DeletionProtectionEnabled=False)
    deleted = client.delete_pool(PoolId=pool["PoolId"])
    assert deleted["Status"] == "DELETING"
    assert "PoolId" not in client.describe_phone_numbers(PhoneNumberIds=[first["PhoneNumberId"]])["PhoneNumbers"][0]
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.describe_pools(PoolIds=[pool["PoolId"]])
    assert error_of(excinfo)["ResourceType"] == "pool"


def test_members_must_match_the_pool(sandbox: Sandbox) -> None:
    client = sandbox.client()
    first = toll_free(client)
    other = toll_free(client)
    promotional = client.request_phone_number(
        IsoCountryCode="US", MessageType="PROMOTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )
    pool = client.create_pool(OriginationIdentity=first["PhoneNumberId"], MessageType="TRANSACTIONAL")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=promotional["PhoneNumberId"])
    assert error_of(excinfo)["Reason"] == "MESSAGE_TYPE_MISMATCH"
    client.create_opt_out_list(OptOutListName="separate")
    client.update_phone_number(PhoneNumberId=other["PhoneNumberId"], OptOutListName="separate")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=other["PhoneNumberId"])
    assert (error_of(excinfo)["Reason"], error_of(excinfo)["ResourceId"]) == ("OPT_OUT_LIST_MISMATCH", other["PhoneNumberId"])
    client.update_phone_number(PhoneNumberId=other["PhoneNumberId"], OptOutListName="Default", SelfManagedOptOutsEnabled=True)
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=other["PhoneNumberId"])
    assert error_of(excinfo)["Reason"] == "SELF_MANAGED_OPT_OUTS_MISMATCH"
    second_pool_member = toll_free(client)
    client.create_pool(OriginationIdentity=second_pool_member["PhoneNumberId"], MessageType="TRANSACTIONAL")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second_pool_member["PhoneNumberId"])
    assert error_of(excinfo)["Reason"] == "PHONE_NUMBER_ASSOCIATED_TO_POOL"


def test_update_pool_applies_settings_to_members(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client)
    pool = client.create_pool(OriginationIdentity=number["PhoneNumberId"], MessageType="TRANSACTIONAL")
    client.create_opt_out_list(OptOutListName="pool-list")
    updated = client.update_pool(PoolId=pool["PoolArn"], OptOutListName="pool-list", SharedRoutesEnabled=True)
    assert (updated["OptOutListName"], updated["SharedRoutesEnabled"]) == ("pool-list", True)
    described = client.describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberId"]])["PhoneNumbers"][0]
    assert described["OptOutListName"] == "pool-list"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_pool(PoolId=pool["PoolId"], OptOutListName="absent")
    pools = client.describe_pools(Filters=[{"Name": "opt-out-list-name", "Values": ["pool-list"]}])["Pools"]
    assert [p["PoolId"] for p in pools] == [pool["PoolId"]]
    assert client.describe_pools(Filters=[{"Name": "shared-routes-enabled", "Values": ["false"]}])["Pools"] == []


def test_list_pool_origination_identities_filters_and_pages(sandbox: Sandbox) -> None:
    client = sandbox.client()
    numbers = [toll_free(client) for _ in range(5)]
    pool = client.create_pool(OriginationIdentity=numbers[0]["PhoneNumberId"], MessageType="TRANSACTIONAL")
    for number in numbers[1:]:
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=number["PhoneNumberId"])
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"PoolId": pool["PoolId"], "MaxResults": 2, **({"NextToken": token} if token else {})}
        page = client.list_pool_origination_identities(**kwargs)
        seen += [m["OriginationIdentity"] for m in page["OriginationIdentities"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and sorted(seen) == sorted(n["PhoneNumberId"] for n in numbers)
    voice = client.list_pool_origination_identities(
        PoolId=pool["PoolId"], Filters=[{"Name": "number-capability", "Values": ["MMS"]}]
    )
    assert voice["OriginationIdentities"] == []


def test_sender_id_pool(sandbox: Sandbox) -> None:
    client = sandbox.client()
    client.request_sender_id(SenderId="BRAND", IsoCountryCode="GB")
    gb_number = long_code(client, "GB")
    pool = client.create_pool(OriginationIdentity="BRAND", IsoCountryCode="GB", MessageType="TRANSACTIONAL")
    client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=gb_number["PhoneNumberId"])
    members = client.list_pool_origination_identities(PoolId=pool["PoolId"])["OriginationIdentities"]
    assert {m["OriginationIdentity"] for m in members} == {"BRAND", gb_number["PhoneNumberId"]}
    assert all(m["IsoCountryCode"] == "GB" for m in members)


def test_configuration_sets(sandbox: Sandbox) -> None:
    client = sandbox.client()
    created = client.create_configuration_set(ConfigurationSetName="otp", Tags=[{"Key": "env", "Value": "prod"}])
    assert created["ConfigurationSetArn"] == f"arn:aws:sms-voice:{REGION}:{OWNER}:configuration-set/otp"
    client.create_configuration_set(ConfigurationSetName="marketing")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.create_configuration_set(ConfigurationSetName="otp")
    assert error_of(excinfo)["Reason"] == "RESOURCE_ALREADY_EXISTS"
    protect = client.create_protect_configuration()["ProtectConfigurationId"]
    client.associate_protect_configuration(ProtectConfigurationId=protect, ConfigurationSetName="otp")
    filtered = client.describe_configuration_sets(Filters=[{"Name": "protect-configuration-id", "Values": [protect]}])
    assert [(c["ConfigurationSetName"], c["ProtectConfigurationId"]) for c in filtered["ConfigurationSets"]] == [("otp", protect)]
    everything = client.describe_configuration_sets()["ConfigurationSets"]
    assert sorted(c["ConfigurationSetName"] for c in everything) == ["marketing", "otp"]
    named = client.describe_configuration_sets(ConfigurationSetNames=[created["ConfigurationSetArn"]])["ConfigurationSets"]
    assert [c["ConfigurationSetName"] for c in named] == ["otp"]
    deleted = client.delete_configuration_set(ConfigurationSetName="otp")
    assert deleted["ConfigurationSetName"] == "otp"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.describe_configuration_sets(ConfigurationSetNames=["otp"])
    assert (error_of(excinfo)["ResourceType"], error_of(excinfo)["ResourceId"]) == ("configuration-set", "otp")
    # The association went with the configuration set, so the protect configuration can go too.
    client.delete_protect_configuration(ProtectConfigurationId=protect)
