"""The request pipeline: protocols, error envelopes, accounts, the call log and injected faults."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from platform_support import CONSUMER, OWNER, START, error_of

from reconciler.sandbox import Faults, Latency, Sandbox
from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.protocols import Headers, RawRequest, protocol_for
from reconciler.sandbox.state import DEFAULT_ACCOUNT, Clock, World
from reconciler.sandbox.wire import Gateway

SMS = "pinpoint-sms-voice-v2"


def _signed_headers(service: str, account: str = OWNER, region: str = "us-east-1", **extra: str) -> Headers:
    scope = f"{account}/20260101/{region}/{service}/aws4_request"
    return Headers(
        {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00", **extra}
    )


def test_state_is_per_account_and_region(sandbox):
    sandbox.raw_client(SMS, OWNER).create_opt_out_list(OptOutListName="owner-list")
    names = {
        (account, region): {
            item["OptOutListName"]
            for item in sandbox.raw_client(SMS, account, region).describe_opt_out_lists()["OptOutLists"]
        }
        for account in (OWNER, CONSUMER)
        for region in ("us-east-1", "eu-west-1")
    }
    assert "owner-list" in names[(OWNER, "us-east-1")]
    assert all("owner-list" not in found for key, found in names.items() if key != (OWNER, "us-east-1"))


def test_non_numeric_access_key_maps_to_default_account():
    sandbox = Sandbox(World(Clock(start=START, simulated=True)))
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x", region_name="eu-west-1"
    )
    sandbox.attach(session)
    assert session.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert sandbox.calls[-1].region == "eu-west-1"


def test_modelled_errors_are_catchable_with_their_fields(sandbox):
    sms = sandbox.raw_client(SMS)
    with pytest.raises(sms.exceptions.ResourceNotFoundException) as excinfo:
        sms.describe_opt_out_lists(OptOutListNames=["missing"])
    error = error_of(excinfo)
    assert error["ResourceType"] == "opt-out-list"
    assert error["ResourceId"] == "missing"
    ram = sandbox.raw_client("ram")
    with pytest.raises(ram.exceptions.UnknownResourceException) as excinfo:
        ram.delete_resource_share(
            resourceShareArn=f"arn:aws:ram:us-east-1:{OWNER}:resource-share/{'0' * 8}-0000-0000-0000-{'0' * 12}"
        )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ram.exceptions.MalformedArnException):
        ram.delete_resource_share(resourceShareArn="not-an-arn")


def test_call_log_records_order_accounts_and_errors(sandbox):
    sms = sandbox.raw_client(SMS)
    sms.describe_pools()
    with pytest.raises(ClientError):
        sms.describe_pools(MaxResults=1000)
    sandbox.raw_client("sts", CONSUMER).get_caller_identity()
    log = [(c.service, c.operation, c.account, c.error) for c in sandbox.calls]
    assert log == [
        (SMS, "DescribePools", OWNER, None),
        (SMS, "DescribePools", OWNER, "ValidationException"),
        ("sts", "GetCallerIdentity", CONSUMER, None),
    ]
    assert all(c.time == START for c in sandbox.calls)


def test_unknown_operation_and_bad_bodies_get_aws_errors():
    gateway = Gateway(World(Clock(start=START, simulated=True)))
    json_headers = {"Content-Type": "application/x-amz-json-1.0"}

    def sms(target: str, body: bytes, **headers: str) -> tuple[int, dict]:
        raw = RawRequest(
            "POST",
            "/",
            {},
            _signed_headers("sms-voice", **{"X-Amz-Target": target, **json_headers, **headers}),
            body,
        )
        response = gateway.handle(SMS, raw)
        return response.status, json.loads(response.body)

    assert sms("PinpointSMSVoiceV2.DescribeUnicorns", b"{}") == (
        400,
        {
            "__type": "UnknownOperationException",
            "Message": "Unknown operation 'DescribeUnicorns' for pinpoint-sms-voice-v2",
        },
    )
    status, body = sms("PinpointSMSVoiceV2.DescribePools", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = sms("PinpointSMSVoiceV2.DescribePools", b"[1, 2]")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = sms("PinpointSMSVoiceV2.DescribePools", b"{}", **{"Content-Type": "text/plain"})
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = sms("PinpointSMSVoiceV2.DescribePools", b"{}")
    assert (status, sorted(body)) == (200, ["Pools"])


def test_unsigned_requests_are_refused():
    gateway = Gateway(World())
    headers = Headers(
        {"X-Amz-Target": "PinpointSMSVoiceV2.DescribePools", "Content-Type": "application/x-amz-json-1.0"}
    )
    response = gateway.handle(SMS, RawRequest("POST", "/", {}, headers, b"{}"))
    assert response.status == 403
    assert json.loads(response.body)["__type"] == "MissingAuthenticationTokenException"


def test_ram_routes_by_method_and_path():
    protocol = protocol_for("ram")
    headers = _signed_headers("ram", **{"Content-Type": "application/json"})
    decoded = protocol.decode(
        RawRequest("DELETE", "/deleteresourceshare", {"resourceShareArn": ["arn:x"]}, headers, b"")
    )
    assert decoded.operation.name == "DeleteResourceShare"
    assert decoded.params == {"resourceShareArn": "arn:x"}
    with pytest.raises(ApiError) as excinfo:
        protocol.decode(RawRequest("GET", "/deleteresourceshare", {}, headers, b""))
    assert excinfo.value.code == "UnknownOperationException"
    decoded = protocol.decode(
        RawRequest("POST", "/getresourceshares", {}, headers, b'{"resourceOwner": "SELF", "colour": 1}')
    )
    assert [issue.path for issue in decoded.issues] == ["colour"]


def test_sts_query_protocol_checks_action_and_version():
    protocol = protocol_for("sts")
    headers = _signed_headers("sts", **{"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(ApiError) as excinfo:
        protocol.decode(RawRequest("POST", "/", {}, headers, b"Action=GetCallerIdentity&Version=2010-01-01"))
    assert excinfo.value.code == "InvalidAction"
    with pytest.raises(ApiError) as excinfo:
        protocol.decode(RawRequest("POST", "/", {}, headers, b"Action=FlyAway&Version=2011-06-15"))
    assert excinfo.value.code == "InvalidAction"
    decoded = protocol.decode(
        RawRequest("POST", "/", {}, headers, b"Action=GetCallerIdentity&Version=2011-06-15&Extra=1")
    )
    assert [issue.path for issue in decoded.issues] == ["Extra"]
    decoded = protocol.decode(
        RawRequest(
            "POST",
            "/",
            {},
            headers,
            b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A444455556666%3Arole%2Fr"
            b"&RoleSessionName=s1&Tags.member.1.Key=team&Tags.member.1.Value=sms&DurationSeconds=900",
        )
    )
    assert decoded.issues == []
    assert decoded.params["Tags"] == [{"Key": "team", "Value": "sms"}]
    assert decoded.params["DurationSeconds"] == 900


def _faulty(**rates: float) -> Sandbox:
    return Sandbox(World(Clock(start=START, simulated=True)), faults=Faults(seed=1, **rates))


def test_injected_throttling_is_retryable_and_in_the_service_envelope():
    sandbox = _faulty(throttle_rate=1.0)
    no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    sms = sandbox.session().client(SMS, config=no_retry)
    with pytest.raises(sms.exceptions.ThrottlingException):
        sms.describe_pools()
    ram = sandbox.session().client("ram", config=no_retry)
    with pytest.raises(ram.exceptions.ThrottlingException) as excinfo:
        ram.list_permissions()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    with pytest.raises(ClientError) as excinfo:
        sandbox.session().client("sts", config=no_retry).get_caller_identity()
    assert excinfo.value.response["Error"]["Code"] == "Throttling"
    # botocore's standard mode retries throttling: both attempts reach the sandbox.
    retrying = sandbox.session().client(
        SMS, config=Config(retries={"total_max_attempts": 2, "mode": "standard"})
    )
    before = len(sandbox.calls)
    with pytest.raises(retrying.exceptions.ThrottlingException):
        retrying.describe_pools()
    assert len(sandbox.calls) - before == 2


def test_injected_500_and_dropped_connections():
    no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    sms = _faulty(error_rate=1.0).session().client(SMS, config=no_retry)
    with pytest.raises(sms.exceptions.InternalServerException) as excinfo:
        sms.describe_pools()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    dropping = _faulty(drop_rate=1.0)
    with pytest.raises(ConnectionClosedError):
        dropping.session().client(SMS, config=no_retry).create_opt_out_list(OptOutListName="never")
    assert "never" not in dropping.world.region(DEFAULT_ACCOUNT, "us-east-1").opt_out_lists
    applied = _faulty(drop_after_rate=1.0)
    with pytest.raises(ConnectionClosedError):
        applied.session().client(SMS, config=no_retry).create_opt_out_list(OptOutListName="applied")
    assert "applied" in applied.world.region(DEFAULT_ACCOUNT, "us-east-1").opt_out_lists


def test_fault_draws_are_reproducible_from_the_seed():
    def pattern(seed: int) -> list[str | None]:
        faults = Faults(throttle_rate=0.2, error_rate=0.1, drop_rate=0.1, seed=seed)
        return [faults.pick("DescribePools") for _ in range(200)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    drawn = pattern(7)
    assert 20 <= drawn.count("throttle") <= 60 and drawn.count(None) > 100
    only = Faults(error_rate=1.0, operations=frozenset({"SendTextMessage"}))
    assert only.pick("DescribePools") is None and only.pick("SendTextMessage") == "error"
    with pytest.raises(ValueError):
        Faults(throttle_rate=0.7, error_rate=0.7)


def test_latency_advances_the_simulated_clock_scaled():
    world = World(Clock(start=START, simulated=True))
    sandbox = Sandbox(world, latency=Latency(0.25), time_scale=5.0)
    sms = sandbox.session().client(SMS)
    for _ in range(4):
        sms.describe_pools()
    assert world.clock.now() == pytest.approx(START + 4 * 0.25 / 5.0)
