"""Contract: every error the sandbox emulates, produced by a real situation, caught by class.

Each test provokes one error the way a user would meet it, catches it as
``client.exceptions.<Name>`` (the class botocore builds from the service model), and checks the
error's fields and that nothing changed. Together they cover every error shape of
pinpoint-sms-voice-v2 and the RAM errors the sandbox produces.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from platform_support import CONSUMER, OWNER, REGION, START, CheckedSandbox, accept_invitations

from reconciler.sandbox import Faults, Quotas, Sandbox
from reconciler.sandbox.handlers.ram import MAX_RESOURCE_SHARES
from reconciler.sandbox.state import Clock, ResourceShare, World

SMS = "pinpoint-sms-voice-v2"
NO_RETRY = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})


def _toll_free(sms: Any) -> dict[str, Any]:
    return sms.request_phone_number(  # type: ignore[no-any-return]
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )


def _long_code(sms: Any) -> dict[str, Any]:
    return sms.request_phone_number(  # type: ignore[no-any-return]
        IsoCountryCode="GB", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="LONG_CODE"
    )


def test_validation_exception_has_reason_and_fields(sandbox: CheckedSandbox) -> None:
    sms = sandbox.raw_client(SMS)
    number = _long_code(sms)
    with pytest.raises(sms.exceptions.ValidationException) as excinfo:
        sms.update_phone_number(PhoneNumberId=number["PhoneNumberId"], InternationalSendingEnabled=True)
    error = excinfo.value.response
    assert error["Reason"] == "INTERNATIONAL_SENDING_NOT_SUPPORTED"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sms.describe_phone_numbers()["PhoneNumbers"][0]["InternationalSendingEnabled"] is False
    with pytest.raises(sms.exceptions.ValidationException) as excinfo:
        sms.describe_pools(MaxResults=101)
    assert excinfo.value.response["Fields"][0]["Name"] == "MaxResults"


def test_resource_not_found_names_type_and_id(sandbox: CheckedSandbox) -> None:
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ResourceNotFoundException) as excinfo:
        sms.delete_opt_out_list(OptOutListName="never-created")
    error = excinfo.value.response
    assert (error["ResourceType"], error["ResourceId"]) == ("opt-out-list", "never-created")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400  # the API reference lists 400 for it


def test_conflict_has_reason_type_and_id(sandbox: CheckedSandbox) -> None:
    sms = sandbox.raw_client(SMS)
    config = sms.create_protect_configuration(DeletionProtectionEnabled=True)["ProtectConfigurationId"]
    with pytest.raises(sms.exceptions.ConflictException) as excinfo:
        sms.delete_protect_configuration(ProtectConfigurationId=config)
    error = excinfo.value.response
    assert (error["Reason"], error["ResourceType"], error["ResourceId"]) == (
        "DELETION_PROTECTION_ENABLED",
        "protect-configuration",
        config,
    )
    assert [c["ProtectConfigurationId"] for c in sms.describe_protect_configurations()["ProtectConfigurations"]] == [config]


def test_service_quota_exceeded_has_reason(sandbox: CheckedSandbox) -> None:
    sms = sandbox.raw_client(SMS)
    for index in range(24):  # Default is the 25th
        sms.create_opt_out_list(OptOutListName=f"list-{index}")
    with pytest.raises(sms.exceptions.ServiceQuotaExceededException) as excinfo:
        sms.create_opt_out_list(OptOutListName="one-too-many")
    assert excinfo.value.response["Reason"] == "OPT_OUT_LISTS_PER_ACCOUNT"
    assert len(sms.describe_opt_out_lists()["OptOutLists"]) == 25


def test_access_denied_when_a_consumer_changes_a_shared_resource(sandbox: CheckedSandbox) -> None:
    owner_sms = sandbox.raw_client(SMS, OWNER)
    number = _toll_free(owner_sms)
    ram = sandbox.raw_client("ram", OWNER)
    ram.create_resource_share(name="numbers", principals=[CONSUMER], resourceArns=[number["PhoneNumberArn"]])
    accept_invitations(sandbox.raw_client("ram", CONSUMER))
    consumer = sandbox.raw_client(SMS, CONSUMER)
    assert [n["PhoneNumberArn"] for n in consumer.describe_phone_numbers(Owner="SHARED")["PhoneNumbers"]] == [
        number["PhoneNumberArn"]
    ]
    changes = [
        ("update_phone_number", {"PhoneNumberId": number["PhoneNumberArn"], "InternationalSendingEnabled": True}),
        ("release_phone_number", {"PhoneNumberId": number["PhoneNumberArn"]}),
        ("create_pool", {"OriginationIdentity": number["PhoneNumberArn"], "MessageType": "TRANSACTIONAL"}),
        ("untag_resource", {"ResourceArn": number["PhoneNumberArn"], "TagKeys": ["team"]}),
    ]
    for name, params in changes:
        with pytest.raises(consumer.exceptions.AccessDeniedException) as excinfo:
            getattr(consumer, name)(**params)
        message = excinfo.value.response["Error"]["Message"]
        assert message.startswith(f"User: arn:aws:iam::{CONSUMER}:user/sandbox is not authorized to perform: sms-voice:")
        assert "Reason" not in excinfo.value.response  # IAM's denial, not an account-standing reason
    assert owner_sms.describe_phone_numbers()["PhoneNumbers"][0]["InternationalSendingEnabled"] is False
    assert consumer.describe_pools()["Pools"] == []


def test_throttling_from_the_default_quota() -> None:
    sandbox = Sandbox(World(Clock(start=START, simulated=True)), quotas=Quotas())
    sms = sandbox.session(OWNER, REGION).client(SMS, config=NO_RETRY)
    sms.describe_pools()
    with pytest.raises(sms.exceptions.ThrottlingException) as excinfo:
        sms.describe_pools()  # 1 request/s
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sandbox.world.clock.advance(1.0)
    sms.describe_pools()
    ram = sandbox.session(OWNER, REGION).client("ram", config=NO_RETRY)
    with pytest.raises(ram.exceptions.ThrottlingException):
        for _ in range(10):  # 5 requests/s
            ram.list_permissions()


def test_internal_errors_in_each_services_envelope() -> None:
    sandbox = Sandbox(World(Clock(start=START, simulated=True)), faults=Faults(error_rate=1.0, seed=3))
    sms = sandbox.session(OWNER, REGION).client(SMS, config=NO_RETRY)
    with pytest.raises(sms.exceptions.InternalServerException) as excinfo:
        sms.create_opt_out_list(OptOutListName="never")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    ram = sandbox.session(OWNER, REGION).client("ram", config=NO_RETRY)
    with pytest.raises(ram.exceptions.ServerInternalException):
        ram.create_resource_share(name="never")
    assert sandbox.world.region(OWNER, REGION).opt_out_lists.get("never") is None
    assert sandbox.world.region(OWNER, REGION).resource_shares == {}


def test_ram_resource_share_quota(sandbox: CheckedSandbox) -> None:
    state = sandbox.world.region(OWNER, REGION)
    for index in range(MAX_RESOURCE_SHARES):
        arn = f"arn:aws:ram:{REGION}:{OWNER}:resource-share/{index:08d}-0000-0000-0000-000000000000"
        state.resource_shares[arn] = ResourceShare(arn, f"s{index}", OWNER, True, START, START)
    ram = sandbox.raw_client("ram")
    with pytest.raises(ram.exceptions.ResourceShareLimitExceededException):
        ram.create_resource_share(name="one-too-many")
    assert len(state.resource_shares) == MAX_RESOURCE_SHARES
    ram.delete_resource_share(resourceShareArn=next(iter(state.resource_shares)))
    ram.create_resource_share(name="room-again")  # deleted shares do not count


def test_ram_errors_by_class(sandbox: CheckedSandbox) -> None:
    ram = sandbox.raw_client("ram")
    number = _toll_free(sandbox.raw_client(SMS))
    share = ram.create_resource_share(name="s")["resourceShare"]["resourceShareArn"]
    unknown = share[:-12] + "000000000000"
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("UnknownResourceException", "associate_resource_share", {"resourceShareArn": unknown, "principals": [CONSUMER]}),
        ("MalformedArnException", "associate_resource_share", {"resourceShareArn": "share", "principals": [CONSUMER]}),
        ("InvalidParameterException", "associate_resource_share", {"resourceShareArn": share, "principals": [OWNER]}),
        ("MissingRequiredParameterException", "create_resource_share", {}),
        ("InvalidNextTokenException", "list_resources", {"resourceOwner": "SELF", "nextToken": "forged"}),
        ("InvalidResourceTypeException", "list_resources", {"resourceOwner": "SELF", "resourceType": "not a type"}),
        ("OperationNotPermittedException", "create_resource_share",
         {"name": "internal", "principals": [CONSUMER], "allowExternalPrincipals": False}),
    ]
    for code, name, params in cases:
        with pytest.raises(getattr(ram.exceptions, code)):
            getattr(ram, name)(**params)
    ram.create_resource_share(name="t", clientToken="token-1")
    with pytest.raises(ram.exceptions.IdempotentParameterMismatchException):
        ram.create_resource_share(name="u", clientToken="token-1")
    ram.delete_resource_share(resourceShareArn=share)
    with pytest.raises(ram.exceptions.InvalidStateTransitionException):
        ram.delete_resource_share(resourceShareArn=share)
    assert ram.list_resources(resourceOwner="SELF")["resources"] == []
    assert number["PhoneNumberArn"]


def test_expired_assumed_role_credentials_are_refused(sandbox: CheckedSandbox) -> None:
    sts = sandbox.raw_client("sts", OWNER)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{CONSUMER}:role/Deployer", RoleSessionName="ci", DurationSeconds=900)[
        "Credentials"
    ]
    import boto3

    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    sandbox.attach(session)
    sms = session.client(SMS, config=NO_RETRY)
    assert sms.describe_pools()["Pools"] == []
    assert session.client("sts", config=NO_RETRY).get_caller_identity()["Account"] == CONSUMER
    sandbox.world.clock.advance(901)
    with pytest.raises(sms.exceptions.ClientError) as excinfo:
        sms.describe_pools()
    assert excinfo.value.response["Error"]["Code"] == "ExpiredTokenException"
