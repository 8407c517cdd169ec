"""Contract tests: SendTextMessage (and voice/media) enforcing protect rules, opt-outs, identities, sharing."""

from __future__ import annotations

from typing import Any

import pytest
from platform_support import accept_invitations
from sms_support import CONSUMER, OWNER, REGION, Sandbox, error_of, long_code, toll_free

from reconciler.sandbox.handlers.opt_outs import simulate_inbound_stop

AU = "+61491570156"
GB = "+447700900123"
US = "+12065550100"
PERMISSION = "arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoice"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def _blocked(client: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.send_text_message(MessageBody="hello", **kwargs)
    return error_of(excinfo)


def test_seed_walkthrough_account_default_blocks_au_but_not_gb(sandbox: Sandbox) -> None:
    client = sandbox.client()
    client.request_sender_id(IsoCountryCode="GB", SenderId="DEMOTP")
    config_id = client.create_protect_configuration(Tags=[{"Key": "Name", "Value": "CLITESTING"}])["ProtectConfigurationId"]
    client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id, NumberCapability="SMS", CountryRuleSetUpdates={"AU": {"ProtectStatus": "BLOCK"}}
    )
    client.set_account_default_protect_configuration(ProtectConfigurationId=config_id)
    sent = client.send_text_message(DestinationPhoneNumber=GB, MessageBody="hello")
    assert sent["MessageId"]
    error = _blocked(client, DestinationPhoneNumber=AU)
    assert error == {
        "Code": "ConflictException",
        "Message": f'Conflict Occurred - Reason="DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION" '
        f'ResourceType="protect-configuration" ResourceId="{config_id}"',
        "Reason": "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION",
        "ResourceType": "protect-configuration",
        "ResourceId": config_id,
    }
    messages = sandbox.state().sent_messages
    assert [(m.destination, m.protect_configuration_id, m.origination_identity) for m in messages] == [
        (GB, config_id, f"arn:aws:sms-voice:{REGION}:{OWNER}:sender-id/DEMOTP/GB")
    ]


def test_protect_precedence_message_then_configuration_set_then_account_default(sandbox: Sandbox) -> None:
    client = sandbox.client()

    def config(blocked: str | None) -> str:
        config_id = client.create_protect_configuration()["ProtectConfigurationId"]
        if blocked:
            client.update_protect_configuration_country_rule_set(
                ProtectConfigurationId=config_id, NumberCapability="SMS", CountryRuleSetUpdates={blocked: {"ProtectStatus": "BLOCK"}}
            )
        return config_id

    default, for_set, for_message = config("AU"), config("GB"), config(None)
    client.set_account_default_protect_configuration(ProtectConfigurationId=default)
    client.create_configuration_set(ConfigurationSetName="otp")
    client.associate_protect_configuration(ProtectConfigurationId=for_set, ConfigurationSetName="otp")

    assert _blocked(client, DestinationPhoneNumber=AU)["ResourceId"] == default
    # The configuration set's configuration replaces the default: AU passes, GB is blocked.
    client.send_text_message(DestinationPhoneNumber=AU, MessageBody="hi", ConfigurationSetName="otp")
    assert _blocked(client, DestinationPhoneNumber=GB, ConfigurationSetName="otp")["ResourceId"] == for_set
    # The message's own configuration replaces both.
    client.send_text_message(DestinationPhoneNumber=GB, MessageBody="hi", ConfigurationSetName="otp", ProtectConfigurationId=for_message)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.send_text_message(DestinationPhoneNumber=GB, MessageBody="hi", ProtectConfigurationId="protect-" + "0" * 32)
    assert error_of(excinfo)["ResourceType"] == "protect-configuration"


def test_capabilities_are_checked_separately(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client)  # SMS and VOICE
    config_id = client.create_protect_configuration()["ProtectConfigurationId"]
    client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id, NumberCapability="VOICE", CountryRuleSetUpdates={"US": {"ProtectStatus": "BLOCK"}}
    )
    client.set_account_default_protect_configuration(ProtectConfigurationId=config_id)
    client.send_text_message(DestinationPhoneNumber=US, OriginationIdentity=number["PhoneNumberId"], MessageBody="hi")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.send_voice_message(DestinationPhoneNumber=US, OriginationIdentity=number["PhoneNumberId"], MessageBody="hi")
    assert error_of(excinfo)["Reason"] == "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.send_media_message(
            DestinationPhoneNumber=US, OriginationIdentity=number["PhoneNumberId"], MediaUrls=["s3://bucket-name/cat.png"]
        )
    assert error_of(excinfo)["Reason"] == "NUMBER_CAPABILITIES_MISMATCH"


def test_monitor_and_filter_statuses_send(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config_id = client.create_protect_configuration()["ProtectConfigurationId"]
    client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id,
        NumberCapability="SMS",
        CountryRuleSetUpdates={"AU": {"ProtectStatus": "MONITOR"}, "GB": {"ProtectStatus": "FILTER"}},
    )
    for destination in (AU, GB):
        client.send_text_message(DestinationPhoneNumber=destination, MessageBody="hi", ProtectConfigurationId=config_id)
    assert len(sandbox.state().sent_messages) == 2


def test_number_overrides_refine_country_rules(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config_id = client.create_protect_configuration()["ProtectConfigurationId"]
    client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id, NumberCapability="SMS", CountryRuleSetUpdates={"AU": {"ProtectStatus": "BLOCK"}}
    )
    client.set_account_default_protect_configuration(ProtectConfigurationId=config_id)
    client.put_protect_configuration_rule_set_number_override(
        ProtectConfigurationId=config_id, DestinationPhoneNumber=AU, Action="ALLOW",
        ExpirationTimestamp=sandbox.world.clock.now() + 600,
    )
    client.put_protect_configuration_rule_set_number_override(
        ProtectConfigurationId=config_id, DestinationPhoneNumber=GB, Action="BLOCK"
    )
    client.send_text_message(DestinationPhoneNumber=AU, MessageBody="allowed by override")
    assert _blocked(client, DestinationPhoneNumber="+61491570157")["Reason"] == "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"
    error = _blocked(client, DestinationPhoneNumber=GB)
    assert (error["Reason"], error["ResourceId"]) == ("DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE", config_id)
    # An opt-out beats an ALLOW override.
    client.put_opted_out_number(OptOutListName="Default", OptedOutNumber=AU)
    assert _blocked(client, DestinationPhoneNumber=AU)["Reason"] == "DESTINATION_PHONE_NUMBER_OPTED_OUT"
    client.delete_opted_out_number(OptOutListName="Default", OptedOutNumber=AU)
    sandbox.advance(601)  # the ALLOW override has expired
    assert _blocked(client, DestinationPhoneNumber=AU)["Reason"] == "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"


def test_opt_outs_of_the_identity_list(sandbox: Sandbox) -> None:
    client = sandbox.client()
    client.create_opt_out_list(OptOutListName="alerts")
    alerts_number = toll_free(client, OptOutListName="alerts")
    default_number = toll_free(client)
    simulate_inbound_stop(sandbox.world, OWNER, REGION, alerts_number["PhoneNumberId"], US)
    error = _blocked(client, DestinationPhoneNumber=US, OriginationIdentity=alerts_number["PhoneNumberArn"])
    assert error == {
        "Code": "ConflictException",
        "Message": f'Conflict Occurred - Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT" '
        f'ResourceType="opted-out-number" ResourceId="{US[:-4]}****"',
        "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
        "ResourceType": "opted-out-number",
        "ResourceId": US,
    }
    # Another identity with another list still reaches the number.
    client.send_text_message(DestinationPhoneNumber=US, OriginationIdentity=default_number["PhoneNumberId"], MessageBody="hi")
    # A pool's list governs its members.
    pool = client.create_pool(OriginationIdentity=default_number["PhoneNumberId"], MessageType="TRANSACTIONAL")
    client.update_pool(PoolId=pool["PoolId"], OptOutListName="alerts")
    assert _blocked(client, DestinationPhoneNumber=US, OriginationIdentity=pool["PoolId"])["Reason"] == "DESTINATION_PHONE_NUMBER_OPTED_OUT"
    dry = client.send_text_message(DestinationPhoneNumber="+12065550199", OriginationIdentity=pool["PoolArn"], MessageBody="x", DryRun=True)
    assert dry["MessageId"] and len(sandbox.state().sent_messages) == 1


def test_identity_reach(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client)
    gb_number = long_code(client, "GB")
    for abroad in ("+14165550100", GB):  # Canada too is international for a US toll-free number
        with pytest.raises(client.exceptions.ValidationException) as excinfo:
            client.send_text_message(DestinationPhoneNumber=abroad, OriginationIdentity=number["PhoneNumberId"], MessageBody="hi")
        assert error_of(excinfo)["Reason"] == "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY"
    client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], InternationalSendingEnabled=True)
    client.send_text_message(DestinationPhoneNumber=GB, OriginationIdentity=number["PhoneNumberId"], MessageBody="hi")
    client.send_text_message(DestinationPhoneNumber="+14165550100", OriginationIdentity=number["PhoneNumberId"], MessageBody="CA ok")
    with pytest.raises(client.exceptions.ValidationException):
        client.send_text_message(DestinationPhoneNumber=AU, OriginationIdentity=gb_number["PhoneNumberId"], MessageBody="hi")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.send_text_message(DestinationPhoneNumber=GB, OriginationIdentity="phone-" + "f" * 32, MessageBody="hi")
    with pytest.raises(client.exceptions.ValidationException):
        client.send_text_message(DestinationPhoneNumber="+999", MessageBody="hi")


def _share(sandbox: Sandbox, *arns: str) -> str:
    ram = sandbox.session(OWNER).client("ram")
    share = ram.create_resource_share(
        name="sms", resourceArns=list(arns), principals=[CONSUMER], permissionArns=[PERMISSION]
    )["resourceShare"]
    accept_invitations(sandbox.session(CONSUMER).client("ram"))
    return str(share["resourceShareArn"])


def test_consumer_sends_with_a_shared_number_by_arn_only(sandbox: Sandbox) -> None:
    owner = sandbox.client(OWNER)
    consumer = sandbox.client(CONSUMER)
    number = toll_free(owner)
    with pytest.raises(consumer.exceptions.ResourceNotFoundException):
        consumer.send_text_message(DestinationPhoneNumber=US, OriginationIdentity=number["PhoneNumberArn"], MessageBody="hi")
    share_arn = _share(sandbox, number["PhoneNumberArn"])
    visible = consumer.describe_phone_numbers(Owner="SHARED")["PhoneNumbers"]
    assert [n["PhoneNumberArn"] for n in visible] == [number["PhoneNumberArn"]]
    assert consumer.describe_phone_numbers()["PhoneNumbers"] == []  # SELF: not the consumer's own
    named = consumer.describe_phone_numbers(PhoneNumberIds=[number["PhoneNumberArn"]])["PhoneNumbers"]
    assert len(named) == 1
    consumer.send_text_message(DestinationPhoneNumber=US, OriginationIdentity=number["PhoneNumberArn"], MessageBody="hi")
    assert sandbox.state(CONSUMER).sent_messages[0].origination_identity == number["PhoneNumberArn"]
    for not_an_arn in (number["PhoneNumberId"], number["PhoneNumber"].lstrip("+")):
        with pytest.raises(consumer.exceptions.ResourceNotFoundException):
            consumer.send_text_message(DestinationPhoneNumber=US, OriginationIdentity=not_an_arn, MessageBody="hi")
    # The owner's opt-outs apply to the consumer's sends through the owner's number.
    simulate_inbound_stop(sandbox.world, OWNER, REGION, number["PhoneNumberId"], US)
    assert _blocked(consumer, DestinationPhoneNumber=US, OriginationIdentity=number["PhoneNumberArn"])["Reason"] == (
        "DESTINATION_PHONE_NUMBER_OPTED_OUT"
    )
    # Consumers use, they do not change: AWSRAMDefaultPermissionSmsVoice grants no change action.
    with pytest.raises(consumer.exceptions.AccessDeniedException):
        consumer.update_phone_number(PhoneNumberId=number["PhoneNumberArn"], DeletionProtectionEnabled=True)
    with pytest.raises(consumer.exceptions.AccessDeniedException) as denied:
        consumer.tag_resource(ResourceArn=number["PhoneNumberArn"], Tags=[{"Key": "k", "Value": "v"}])
    assert denied.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{CONSUMER}:user/sandbox is not authorized to perform: sms-voice:TagResource on "
        f"resource: {number['PhoneNumberArn']} because no resource-based policy allows the sms-voice:TagResource action"
    )
    with pytest.raises(consumer.exceptions.AccessDeniedException):
        consumer.release_phone_number(PhoneNumberId=number["PhoneNumberArn"])
    assert number["PhoneNumberId"] in sandbox.state(OWNER).phone_numbers
    assert sandbox.state(OWNER).tags.get(number["PhoneNumberArn"], {}) == {}
    ram = sandbox.session(OWNER).client("ram")
    ram.disassociate_resource_share(resourceShareArn=share_arn, resourceArns=[number["PhoneNumberArn"]])
    assert consumer.describe_phone_numbers(Owner="SHARED")["PhoneNumbers"] == []
    with pytest.raises(consumer.exceptions.ResourceNotFoundException):
        consumer.send_text_message(DestinationPhoneNumber="+12065550111", OriginationIdentity=number["PhoneNumberArn"], MessageBody="hi")


def test_shared_pool_works_only_with_all_members_in_the_share(sandbox: Sandbox) -> None:
    owner = sandbox.client(OWNER)
    consumer = sandbox.client(CONSUMER)
    first, second = toll_free(owner), toll_free(owner)
    pool = owner.create_pool(OriginationIdentity=first["PhoneNumberId"], MessageType="TRANSACTIONAL")
    owner.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberId"])
    share_arn = _share(sandbox, pool["PoolArn"], first["PhoneNumberArn"])
    assert [p["PoolArn"] for p in consumer.describe_pools(Owner="SHARED")["Pools"]] == [pool["PoolArn"]]
    with pytest.raises(consumer.exceptions.ResourceNotFoundException):
        consumer.send_text_message(DestinationPhoneNumber=US, OriginationIdentity=pool["PoolArn"], MessageBody="hi")
    ram = sandbox.session(OWNER).client("ram")
    ram.associate_resource_share(resourceShareArn=share_arn, resourceArns=[second["PhoneNumberArn"]])
    consumer.send_text_message(DestinationPhoneNumber=US, OriginationIdentity=pool["PoolArn"], MessageBody="hi")
    members = consumer.list_pool_origination_identities(PoolId=pool["PoolArn"])["OriginationIdentities"]
    assert len(members) == 2


def test_shared_opt_out_list(sandbox: Sandbox) -> None:
    owner = sandbox.client(OWNER)
    consumer = sandbox.client(CONSUMER)
    opt_out_list = owner.create_opt_out_list(OptOutListName="central")
    number = toll_free(owner, OptOutListName="central")
    _share(sandbox, opt_out_list["OptOutListArn"])
    shared = consumer.describe_opt_out_lists(Owner="SHARED")["OptOutLists"]
    assert [o["OptOutListArn"] for o in shared] == [opt_out_list["OptOutListArn"]]
    # The number using the list is not in the share, so the list does not work for the consumer.
    with pytest.raises(consumer.exceptions.ResourceNotFoundException):
        consumer.describe_opted_out_numbers(OptOutListName=opt_out_list["OptOutListArn"])
    _share(sandbox, number["PhoneNumberArn"])  # a second share does not complete the first
    with pytest.raises(consumer.exceptions.ResourceNotFoundException):
        consumer.put_opted_out_number(OptOutListName=opt_out_list["OptOutListArn"], OptedOutNumber=US)
    owner.update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="Default")
    consumer.put_opted_out_number(OptOutListName=opt_out_list["OptOutListArn"], OptedOutNumber=US)
    listed = owner.describe_opted_out_numbers(OptOutListName="central")["OptedOutNumbers"]
    assert [n["OptedOutNumber"] for n in listed] == [US]
    with pytest.raises(consumer.exceptions.ResourceNotFoundException):
        consumer.describe_opted_out_numbers(OptOutListName="central")  # by name: the consumer's own, absent
