"""STS: who the caller is, and assumed roles acting as the role's account."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from platform_support import CONSUMER, OWNER

ROLE = f"arn:aws:iam::{CONSUMER}:role/sms/Deployer"


def _role_session(sandbox, credentials, region="us-east-1", token=None):
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=token if token is not None else credentials["SessionToken"],
        region_name=region,
    )
    return sandbox.attach(session)


def test_get_caller_identity_names_the_account_of_the_key(sandbox):
    identity = sandbox.session(OWNER).client("sts").get_caller_identity()
    assert (identity["Account"], identity["Arn"], identity["UserId"]) == (
        OWNER,
        f"arn:aws:iam::{OWNER}:user/sandbox",
        OWNER,
    )


def test_assumed_role_acts_as_the_roles_account(sandbox):
    response = sandbox.session(OWNER).client("sts").assume_role(RoleArn=ROLE, RoleSessionName="plan-42")
    credentials = response["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert response["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{CONSUMER}:assumed-role/Deployer/plan-42"
    role = _role_session(sandbox, credentials, region="eu-west-1")
    identity = role.client("sts").get_caller_identity()
    assert identity["Account"] == CONSUMER
    assert identity["Arn"] == f"arn:aws:sts::{CONSUMER}:assumed-role/Deployer/plan-42"
    assert identity["UserId"] == response["AssumedRoleUser"]["AssumedRoleId"]
    # Writes land in the role's account and the session's region.
    role.client("pinpoint-sms-voice-v2").create_opt_out_list(OptOutListName="from-role")
    assert "from-role" in sandbox.world.region(CONSUMER, "eu-west-1").opt_out_lists
    assert "from-role" not in sandbox.world.region(OWNER, "eu-west-1").opt_out_lists


def test_session_token_must_match(sandbox):
    credentials = (
        sandbox.session(OWNER).client("sts").assume_role(RoleArn=ROLE, RoleSessionName="s1")["Credentials"]
    )
    forged = _role_session(sandbox, credentials, token="forged")
    with pytest.raises(ClientError) as excinfo:
        forged.client("sts").get_caller_identity()
    assert excinfo.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as excinfo:
        forged.client("pinpoint-sms-voice-v2").describe_pools()
    assert excinfo.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_session_credentials_expire_on_the_world_clock(sandbox):
    sts = sandbox.session(OWNER).client("sts")
    credentials = sts.assume_role(RoleArn=ROLE, RoleSessionName="short", DurationSeconds=900)["Credentials"]
    role = _role_session(sandbox, credentials)
    assert role.client("sts").get_caller_identity()["Account"] == CONSUMER
    sandbox.world.clock.advance(901)
    with pytest.raises(ClientError) as excinfo:
        role.client("sts").get_caller_identity()
    assert excinfo.value.response["Error"]["Code"] == "ExpiredToken"


def test_assume_role_refuses_bad_role_arns_and_long_sessions(sandbox):
    sts = sandbox.raw_client("sts", OWNER)
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn="arn:aws:iam::12345:user/someone", RoleSessionName="s1")
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn=ROLE, RoleSessionName="s1", DurationSeconds=7200)
    assert "MaxSessionDuration" in excinfo.value.response["Error"]["Message"]
