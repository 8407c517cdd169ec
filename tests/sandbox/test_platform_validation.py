"""Server-side validation against botocore's model, for every service and both front ends.

Clients here skip botocore's client-side validation (``parameter_validation=False``), so each
rejection proves the sandbox itself refuses the request, as AWS would.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from platform_support import OWNER, error_of

from reconciler.sandbox.protocols import Headers, RawRequest, protocol_for
from reconciler.sandbox.validation import MISSING, UNKNOWN, summary, validate

SMS = "pinpoint-sms-voice-v2"


def test_six_ids_and_max_results_101_are_refused_with_fields(sandbox):
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ValidationException) as excinfo:
        sms.describe_phone_numbers(PhoneNumberIds=[f"phone-{i:032x}" for i in range(6)], MaxResults=101)
    error = error_of(excinfo)
    assert error["Reason"] == "FIELD_VALIDATION_FAILED"
    fields = {field["Name"]: field["Message"] for field in error["Fields"]}
    assert set(fields) == {"PhoneNumberIds", "MaxResults"}
    assert "less than or equal to 5" in fields["PhoneNumberIds"]
    assert "less than or equal to 100" in fields["MaxResults"]
    assert error["Error"]["Message"].startswith("2 validation errors detected: ")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_max_results_zero_and_five_ids_boundary(sandbox):
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ValidationException) as excinfo:
        sms.describe_pools(MaxResults=0)
    assert error_of(excinfo)["Fields"][0]["Name"] == "MaxResults"
    # Five ids pass validation and reach the handler (which reports the unknown ids instead).
    with pytest.raises(ClientError) as excinfo:
        sms.describe_pools(PoolIds=[f"pool-{i:032x}" for i in range(5)])
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_unknown_filter_name_is_refused(sandbox):
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ValidationException) as excinfo:
        sms.describe_phone_numbers(Filters=[{"Name": "colour", "Values": ["blue"]}])
    error = error_of(excinfo)
    assert error["Reason"] == "FIELD_VALIDATION_FAILED"
    assert error["Fields"][0]["Name"] == "Filters[0].Name"
    assert "enum value set" in error["Fields"][0]["Message"]


def test_missing_required_member_has_reason_missing_parameter(sandbox):
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ValidationException) as excinfo:
        sms.put_opted_out_number(OptOutListName="Default")
    error = error_of(excinfo)
    assert error["Reason"] == "MISSING_PARAMETER"
    assert error["Fields"] == [
        {
            "Name": "OptedOutNumber",
            "Message": "Value null at 'OptedOutNumber' failed to satisfy constraint: Member must not be null",
        }
    ]


def test_pattern_and_length_are_checked(sandbox):
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ValidationException) as excinfo:
        sms.put_opted_out_number(OptOutListName="Default", OptedOutNumber="not-a-number")
    assert "regular expression pattern" in error_of(excinfo)["Fields"][0]["Message"]
    with pytest.raises(sms.exceptions.ValidationException):
        sms.create_opt_out_list(OptOutListName="x" * 65)


def test_nothing_changes_when_validation_fails(sandbox):
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ValidationException):
        sms.create_opt_out_list(OptOutListName="ok-name", Tags=[{"Key": "k"}])  # Tag.Value missing
    assert "ok-name" not in sandbox.world.region(OWNER, "us-east-1").opt_out_lists


def test_unknown_member_is_refused_on_the_wire():
    # botocore never sends unknown members, so build the request by hand.
    protocol = protocol_for(SMS)
    headers = Headers(
        {"X-Amz-Target": "PinpointSMSVoiceV2.DescribePools", "Content-Type": "application/x-amz-json-1.0"}
    )
    decoded = protocol.decode(RawRequest("POST", "/", {}, headers, json.dumps({"Colour": "blue"}).encode()))
    assert [(i.path, i.kind) for i in decoded.issues] == [("Colour", UNKNOWN)]
    error = protocol.validation_error(decoded.issues)
    assert error.fields["Reason"] == "UNSPECIFIED_PARAMETER_NOT_SUPPORTED"


def test_wrong_types_are_reported():
    shape = protocol_for(SMS).model.operation_model("DescribePools").input_shape
    issues = validate(shape, {"MaxResults": "ten", "PoolIds": "pool-1", "Owner": 3})
    assert {issue.path for issue in issues} == {"MaxResults", "PoolIds", "Owner"}
    assert "3 validation errors detected" in summary(issues)


def test_ram_validation_errors_use_rams_own_exceptions(sandbox):
    ram = sandbox.raw_client("ram")
    with pytest.raises(ram.exceptions.InvalidParameterException) as excinfo:
        ram.get_resource_shares(resourceOwner="ME")
    assert "enum value set: [SELF, OTHER-ACCOUNTS]" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ram.exceptions.InvalidParameterException) as excinfo:
        ram.list_resources(resourceOwner="SELF", maxResults=501)
    assert "less than or equal to 500" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ram.exceptions.MissingRequiredParameterException):
        ram.get_resource_shares()
    with pytest.raises(ram.exceptions.MissingRequiredParameterException):
        ram.create_resource_share()


def test_sts_validation_error_is_query_style(sandbox):
    sts = sandbox.raw_client("sts")
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(
            RoleArn="arn:aws:iam::444455556666:role/Deployer", RoleSessionName="x", DurationSeconds=60
        )
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Type"] == "Sender"
    assert "RoleSessionName" in error["Message"] and "DurationSeconds" in error["Message"]
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleSessionName="session")
    assert "Value null at 'RoleArn'" in excinfo.value.response["Error"]["Message"]


def test_every_issue_kind_constant_is_used():
    shape = protocol_for("sts").model.operation_model("AssumeRole").input_shape
    kinds = {issue.kind for issue in validate(shape, {"Bogus": 1})}
    assert kinds == {MISSING, UNKNOWN}
