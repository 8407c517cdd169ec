"""Contract tests: tags on every taggable sms-voice ARN, and the operation inventory."""

from __future__ import annotations

from typing import Any

import pytest
from sms_support import OWNER, REGION, Sandbox, error_of, toll_free

from reconciler.sandbox.registry import SMS_VOICE, emulated_operations


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def _arns(client: Any) -> dict[str, str]:
    number = toll_free(client)
    return {
        "phone-number": number["PhoneNumberArn"],
        "sender-id": client.request_sender_id(SenderId="BRAND", IsoCountryCode="GB")["SenderIdArn"],
        "pool": client.create_pool(OriginationIdentity=number["PhoneNumberId"], MessageType="TRANSACTIONAL")["PoolArn"],
        "opt-out-list": client.create_opt_out_list(OptOutListName="central")["OptOutListArn"],
        "default-opt-out-list": f"arn:aws:sms-voice:{REGION}:{OWNER}:opt-out-list/Default",
        "protect-configuration": client.create_protect_configuration()["ProtectConfigurationArn"],
        "configuration-set": client.create_configuration_set(ConfigurationSetName="otp")["ConfigurationSetArn"],
    }


def test_tag_untag_list_for_every_resource_type(sandbox: Sandbox) -> None:
    client = sandbox.client()
    for kind, arn in _arns(client).items():
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": kind}])
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "3"}])
        listed = client.list_tags_for_resource(ResourceArn=arn)
        assert listed["ResourceArn"] == arn
        assert listed["Tags"] == [{"Key": "a", "Value": kind}, {"Key": "b", "Value": "3"}]
        client.untag_resource(ResourceArn=arn, TagKeys=["a", "not-there"])
        assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "3"}]


def test_tag_limits_and_errors(sandbox: Sandbox) -> None:
    client = sandbox.client()
    arn = client.create_protect_configuration()["ProtectConfigurationArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(client.exceptions.ServiceQuotaExceededException) as excinfo:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    assert error_of(excinfo)["Reason"] == "TAGS_PER_RESOURCE"
    assert len(client.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 50
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k0", "Value": "overwrite is fine"}])
    with pytest.raises(client.exceptions.ValidationException):
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:cloudformation", "Value": "v"}])
    with pytest.raises(client.exceptions.ValidationException):
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "x" * 129, "Value": "v"}])
    with pytest.raises(client.exceptions.ValidationException):
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}])
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.list_tags_for_resource(ResourceArn="arn:aws:sns:us-east-1:111122223333:topic")
    assert error_of(excinfo)["Reason"] == "INVALID_ARN"
    missing = f"arn:aws:sms-voice:{REGION}:{OWNER}:pool/pool-" + "0" * 32
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.list_tags_for_resource(ResourceArn=missing)
    assert (error_of(excinfo)["ResourceType"], error_of(excinfo)["ResourceId"]) == ("pool", missing)
    other_region = arn.replace(REGION, "eu-west-1")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(ResourceArn=other_region)


def test_every_brief_operation_is_emulated() -> None:
    expected = {
        "RequestPhoneNumber", "ReleasePhoneNumber", "DescribePhoneNumbers", "UpdatePhoneNumber",
        "RequestSenderId", "ReleaseSenderId", "DescribeSenderIds", "UpdateSenderId",
        "CreatePool", "DescribePools", "UpdatePool", "DeletePool", "AssociateOriginationIdentity",
        "DisassociateOriginationIdentity", "ListPoolOriginationIdentities",
        "CreateConfigurationSet", "DeleteConfigurationSet", "DescribeConfigurationSets",
        "CreateOptOutList", "DeleteOptOutList", "DescribeOptOutLists", "PutOptedOutNumber",
        "DeleteOptedOutNumber", "DescribeOptedOutNumbers",
        "CreateProtectConfiguration", "DescribeProtectConfigurations", "UpdateProtectConfiguration",
        "DeleteProtectConfiguration", "GetProtectConfigurationCountryRuleSet",
        "UpdateProtectConfigurationCountryRuleSet", "SetAccountDefaultProtectConfiguration",
        "DeleteAccountDefaultProtectConfiguration", "AssociateProtectConfiguration",
        "DisassociateProtectConfiguration", "PutProtectConfigurationRuleSetNumberOverride",
        "DeleteProtectConfigurationRuleSetNumberOverride", "ListProtectConfigurationRuleSetNumberOverrides",
        "TagResource", "UntagResource", "ListTagsForResource",
        "SendTextMessage", "SendVoiceMessage", "SendMediaMessage",
    }  # fmt: skip
    emulated = {name for service, name in emulated_operations() if service == SMS_VOICE}
    assert expected <= emulated, sorted(expected - emulated)


def test_unemulated_operation_is_refused_not_faked(sandbox: Sandbox) -> None:
    client = sandbox.client()
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        client.describe_keywords(OriginationIdentity="phone-" + "0" * 32)
    assert excinfo.value.response["Error"]["Code"] == "UnknownOperationException"
    assert sandbox.state().phone_numbers == {}
