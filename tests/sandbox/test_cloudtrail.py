"""The CloudTrail event history: writes recorded after the delivery delay, LookupEvents as AWS answers it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from platform_support import CONSUMER, OWNER, START, CheckedSandbox, error_of
from shapes import output_problems

from reconciler.sandbox import Quotas, Sandbox
from reconciler.sandbox.server import start_in_thread
from reconciler.sandbox.state import Clock, World
from reconciler.sandbox.trail import DEFAULT_DELIVERY_DELAY, DELAY_SETTING, JITTER_SETTING, RETENTION_SECONDS

SMS = "pinpoint-sms-voice-v2"
NUMBER = "+12065550100"


def _client(sandbox: Sandbox, service: str, account: str = OWNER, region: str = "us-east-1"):
    return sandbox.session(account, region).client(service)


def _delivered(sandbox: Sandbox) -> None:
    sandbox.world.clock.advance(DEFAULT_DELIVERY_DELAY)


def _events(cloudtrail, **kwargs):
    return [
        event
        for page in cloudtrail.get_paginator("lookup_events").paginate(**kwargs)
        for event in page["Events"]
    ]


def _opt_out(sandbox: Sandbox, count: int = 1, account: str = OWNER) -> None:
    sms = _client(sandbox, SMS, account)
    sms.create_opt_out_list(OptOutListName="Marketing")
    for index in range(count):
        sms.put_opted_out_number(OptOutListName="Marketing", OptedOutNumber=f"+1206555{index:04d}")


def test_writes_appear_only_after_the_delivery_delay_newest_first(sandbox):
    sms = _client(sandbox, SMS)
    cloudtrail = _client(sandbox, "cloudtrail")
    sms.create_opt_out_list(OptOutListName="Marketing")
    sandbox.world.clock.advance(1)
    sms.put_opted_out_number(OptOutListName="Marketing", OptedOutNumber=NUMBER)

    sandbox.world.clock.advance(DEFAULT_DELIVERY_DELAY - 2)
    assert cloudtrail.lookup_events()["Events"] == []  # nothing delivered yet
    sandbox.world.clock.advance(1)
    assert [e["EventName"] for e in cloudtrail.lookup_events()["Events"]] == ["CreateOptOutList"]
    sandbox.world.clock.advance(1)
    checks = CheckedSandbox.shape_checks
    response = cloudtrail.lookup_events()
    assert CheckedSandbox.shape_checks == checks + 1  # the after-call hook checked it too
    assert output_problems("cloudtrail", "LookupEvents", response) == []
    events = response["Events"]

    assert [e["EventName"] for e in events] == ["PutOptedOutNumber", "CreateOptOutList"]
    put = events[0]
    assert put["EventSource"] == "sms-voice.amazonaws.com"
    assert put["ReadOnly"] == "false"
    assert put["Username"] == "sandbox"
    assert put["AccessKeyId"] == OWNER
    assert put["EventTime"] == datetime.fromtimestamp(START + 1, tz=UTC)
    list_arn = f"arn:aws:sms-voice:us-east-1:{OWNER}:opt-out-list/Marketing"
    assert put["Resources"] == [{"ResourceType": "AWS::SMSVoice::OptOutList", "ResourceName": list_arn}]
    record = json.loads(put["CloudTrailEvent"])
    assert record["eventID"] == put["EventId"]
    assert record["eventName"] == "PutOptedOutNumber"
    assert record["eventSource"] == "sms-voice.amazonaws.com"
    assert record["eventTime"] == "2026-01-01T00:00:01Z"
    assert record["awsRegion"] == "us-east-1"
    assert record["recipientAccountId"] == OWNER
    # AWS records the request as sent: the opted-out number in full.
    assert record["requestParameters"] == {"optOutListName": "Marketing", "optedOutNumber": NUMBER}
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{OWNER}:user/sandbox"


def test_reads_failed_writes_and_sends_are_not_recorded(sandbox):
    sms = _client(sandbox, SMS)
    cloudtrail = _client(sandbox, "cloudtrail")
    sms.describe_opt_out_lists()
    sms.describe_phone_numbers()
    with pytest.raises(ClientError):
        sms.delete_opt_out_list(OptOutListName="Missing")
    number = sms.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )
    sms.send_text_message(DestinationPhoneNumber=NUMBER, OriginationIdentity=number["PhoneNumberId"],
                          MessageBody="hello")
    cloudtrail.lookup_events()  # lookups are not recorded either
    _delivered(sandbox)

    events = cloudtrail.lookup_events()["Events"]
    assert [e["EventName"] for e in events] == ["RequestPhoneNumber"]
    assert events[0]["Resources"] == [
        {"ResourceType": "AWS::SMSVoice::PhoneNumber", "ResourceName": number["PhoneNumberArn"]}
    ]


def test_ram_writes_are_recorded_with_ram_as_event_source(sandbox):
    ram = _client(sandbox, "ram")
    share = ram.create_resource_share(name="numbers", allowExternalPrincipals=True)["resourceShare"]
    ram.get_resource_shares(resourceOwner="SELF")
    _delivered(sandbox)

    (event,) = _client(sandbox, "cloudtrail").lookup_events()["Events"]
    assert (event["EventName"], event["EventSource"]) == ("CreateResourceShare", "ram.amazonaws.com")
    assert {"ResourceType": "AWS::RAM::ResourceShare", "ResourceName": share["resourceShareArn"]} in event[
        "Resources"
    ]
    assert json.loads(event["CloudTrailEvent"])["requestParameters"]["name"] == "numbers"


def test_history_is_per_account_and_region(sandbox):
    _opt_out(sandbox, account=OWNER)
    _delivered(sandbox)
    assert len(_client(sandbox, "cloudtrail", OWNER).lookup_events()["Events"]) == 2
    assert _client(sandbox, "cloudtrail", CONSUMER).lookup_events()["Events"] == []
    assert _client(sandbox, "cloudtrail", OWNER, region="eu-west-1").lookup_events()["Events"] == []


def test_assumed_role_events_name_the_session(sandbox):
    sts = _client(sandbox, "sts")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{OWNER}:role/Deployer", RoleSessionName="nightly")[
        "Credentials"
    ]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )
    sandbox.attach(session)
    session.client(SMS).create_opt_out_list(OptOutListName="Marketing")
    _delivered(sandbox)

    (event,) = _client(sandbox, "cloudtrail").lookup_events()["Events"]
    assert event["Username"] == "nightly"
    assert event["AccessKeyId"] == credentials["AccessKeyId"]
    identity = json.loads(event["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{OWNER}:assumed-role/Deployer/nightly"


def test_pages_of_fifty_by_default_newest_first_without_gaps(sandbox):
    _opt_out(sandbox, count=119)  # 120 events
    _delivered(sandbox)
    cloudtrail = _client(sandbox, "cloudtrail")

    first = cloudtrail.lookup_events()
    assert len(first["Events"]) == 50
    second = cloudtrail.lookup_events(NextToken=first["NextToken"])
    third = cloudtrail.lookup_events(NextToken=second["NextToken"])
    assert (len(second["Events"]), len(third["Events"])) == (50, 20)
    assert "NextToken" not in third
    every = first["Events"] + second["Events"] + third["Events"]
    assert len({e["EventId"] for e in every}) == 120
    assert every[-1]["EventName"] == "CreateOptOutList"  # the oldest comes last
    numbers = [json.loads(e["CloudTrailEvent"])["requestParameters"].get("optedOutNumber") for e in every[:-1]]
    assert numbers == [f"+1206555{i:04d}" for i in reversed(range(119))]

    small = cloudtrail.lookup_events(MaxResults=7)
    assert [e["EventId"] for e in small["Events"]] == [e["EventId"] for e in every[:7]]


def test_a_token_is_bound_to_its_request(sandbox):
    _opt_out(sandbox, count=3)
    _delivered(sandbox)
    cloudtrail = sandbox.raw_client("cloudtrail")
    attribute = [{"AttributeKey": "EventName", "AttributeValue": "PutOptedOutNumber"}]
    token = cloudtrail.lookup_events(LookupAttributes=attribute, MaxResults=1)["NextToken"]

    assert len(cloudtrail.lookup_events(LookupAttributes=attribute, MaxResults=1, NextToken=token)["Events"]) == 1
    for bad in ({"NextToken": token}, {"NextToken": "not-a-token", "LookupAttributes": attribute}):
        with pytest.raises(ClientError) as excinfo:
            cloudtrail.lookup_events(**bad)
        assert error_of(excinfo)["Error"]["Code"] == "InvalidNextTokenException"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("EventName", "PutOptedOutNumber", ["PutOptedOutNumber"]),
        ("EventSource", "sms-voice.amazonaws.com", ["PutOptedOutNumber", "CreateOptOutList"]),
        ("EventSource", "ram.amazonaws.com", ["CreateResourceShare"]),
        ("ReadOnly", "false", ["CreateResourceShare", "PutOptedOutNumber", "CreateOptOutList"]),
        ("ReadOnly", "true", []),
        ("Username", "sandbox", ["CreateResourceShare", "PutOptedOutNumber", "CreateOptOutList"]),
        ("Username", "someone-else", []),
        ("AccessKeyId", OWNER, ["CreateResourceShare", "PutOptedOutNumber", "CreateOptOutList"]),
        ("ResourceType", "AWS::SMSVoice::OptOutList", ["PutOptedOutNumber", "CreateOptOutList"]),
        ("ResourceType", "AWS::RAM::ResourceShare", ["CreateResourceShare"]),
        (
            "ResourceName",
            f"arn:aws:sms-voice:us-east-1:{OWNER}:opt-out-list/Marketing",
            ["PutOptedOutNumber", "CreateOptOutList"],
        ),
    ],
)
def test_lookup_attributes_filter_events(sandbox, key, value, expected):
    _opt_out(sandbox, count=1)
    sandbox.world.clock.advance(1)
    _client(sandbox, "ram").create_resource_share(name="numbers")
    _delivered(sandbox)

    events = _events(_client(sandbox, "cloudtrail"), LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])
    assert [e["EventName"] for e in events] == expected


def test_lookup_by_event_id(sandbox):
    _opt_out(sandbox, count=2)
    _delivered(sandbox)
    cloudtrail = _client(sandbox, "cloudtrail")
    wanted = cloudtrail.lookup_events()["Events"][1]
    found = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": wanted["EventId"]}])
    assert found["Events"] == [wanted]


@pytest.mark.parametrize(
    "attributes",
    [
        [
            {"AttributeKey": "EventName", "AttributeValue": "PutOptedOutNumber"},
            {"AttributeKey": "Username", "AttributeValue": "sandbox"},
        ],
        [{"AttributeKey": "EventType", "AttributeValue": "AwsApiCall"}],  # not a lookup key
        [{"AttributeKey": "ReadOnly", "AttributeValue": "yes"}],
        [{"AttributeKey": "EventName", "AttributeValue": "_" * 1001}],  # "_" counts twice: 2002 > 2000
    ],
)
def test_invalid_lookup_attributes_are_refused(sandbox, attributes):
    with pytest.raises(ClientError) as excinfo:
        sandbox.raw_client("cloudtrail").lookup_events(LookupAttributes=attributes)
    assert error_of(excinfo)["Error"]["Code"] == "InvalidLookupAttributesException"
    assert error_of(excinfo)["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_time_range_is_inclusive_and_start_after_end_is_refused(sandbox):
    sms = _client(sandbox, SMS)
    sms.create_opt_out_list(OptOutListName="Marketing")
    for second in range(1, 4):
        sandbox.world.clock.advance(1)
        sms.put_opted_out_number(OptOutListName="Marketing", OptedOutNumber=f"+120655501{second:02d}")
    _delivered(sandbox)
    cloudtrail = _client(sandbox, "cloudtrail")

    window = cloudtrail.lookup_events(
        StartTime=datetime.fromtimestamp(START + 1, tz=UTC), EndTime=datetime.fromtimestamp(START + 2, tz=UTC)
    )["Events"]
    assert [e["EventTime"].timestamp() for e in window] == [START + 2, START + 1]
    since = cloudtrail.lookup_events(StartTime=datetime.fromtimestamp(START + 3, tz=UTC))["Events"]
    assert len(since) == 1

    with pytest.raises(ClientError) as excinfo:
        cloudtrail.lookup_events(
            StartTime=datetime.fromtimestamp(START + 2, tz=UTC), EndTime=datetime.fromtimestamp(START + 1, tz=UTC)
        )
    assert error_of(excinfo)["Error"]["Code"] == "InvalidTimeRangeException"


@pytest.mark.parametrize("size", [0, 51])
def test_max_results_outside_1_to_50_is_refused(sandbox, size):
    with pytest.raises(ClientError) as excinfo:
        sandbox.raw_client("cloudtrail").lookup_events(MaxResults=size)
    assert error_of(excinfo)["Error"]["Code"] == "InvalidMaxResultsException"


def test_two_lookups_per_second_per_account_and_region():
    sandbox = CheckedSandbox(World(Clock(start=START, simulated=True)), quotas=Quotas())
    cloudtrail = sandbox.raw_client("cloudtrail")
    cloudtrail.lookup_events()
    cloudtrail.lookup_events()
    with pytest.raises(ClientError) as excinfo:
        cloudtrail.lookup_events()
    assert error_of(excinfo)["Error"]["Code"] == "ThrottlingException"
    # Another account, another Region: their own quota.
    sandbox.raw_client("cloudtrail", CONSUMER).lookup_events()
    sandbox.raw_client("cloudtrail", OWNER, "eu-west-1").lookup_events()
    sandbox.world.clock.advance(1)
    cloudtrail.lookup_events()


def test_events_older_than_90_days_are_gone(sandbox):
    sms = _client(sandbox, SMS)
    sms.create_opt_out_list(OptOutListName="Old")
    sandbox.world.clock.advance(RETENTION_SECONDS - 10)
    sms.create_opt_out_list(OptOutListName="Recent")
    _delivered(sandbox)  # the first event is now 90 days and 290 seconds old
    cloudtrail = _client(sandbox, "cloudtrail")

    names = [json.loads(e["CloudTrailEvent"])["requestParameters"]["optOutListName"] for e in _events(cloudtrail)]
    assert names == ["Recent"]
    assert _events(cloudtrail, StartTime=datetime.fromtimestamp(START - 1, tz=UTC)) == _events(cloudtrail)


def test_delivery_delay_is_configurable_and_can_reorder_events(sandbox):
    sandbox.world.settings[DELAY_SETTING] = 60
    sandbox.world.settings[JITTER_SETTING] = 600
    sms = _client(sandbox, SMS)
    sms.create_opt_out_list(OptOutListName="Marketing")
    for index in range(30):
        sandbox.world.clock.advance(1)
        sms.put_opted_out_number(OptOutListName="Marketing", OptedOutNumber=f"+1206555{index:04d}")
    state = sandbox.world.region(OWNER, "us-east-1")
    delivery = {event.event_id: event.delivered_at for event in state.trail_events}
    times = {event.event_id: event.event_time for event in state.trail_events}
    assert all(60 <= delivery[i] - times[i] <= 660 for i in delivery)
    cloudtrail = _client(sandbox, "cloudtrail")

    # Halfway through the jitter, what is visible is exactly what has been delivered, and some
    # later events are already there while earlier ones are not (out-of-order delivery).
    sandbox.world.clock.advance(300)
    now = sandbox.world.clock.now()
    visible = {e["EventId"] for e in _events(cloudtrail)}
    assert visible == {i for i, at in delivery.items() if at <= now}
    missing = set(delivery) - visible
    assert any(times[v] > times[m] for v in visible for m in missing)

    sandbox.world.clock.advance(660)
    assert {e["EventId"] for e in _events(cloudtrail)} == set(delivery)


def test_snapshots_keep_the_event_history(sandbox, tmp_path):
    _opt_out(sandbox, count=2)  # saved before delivery: the pending events must survive too
    path = tmp_path / "world.json"
    sandbox.save(path)
    restored = Sandbox.from_snapshot(path)
    assert restored.world.clock.simulated

    for world in (sandbox, restored):
        _delivered(world)
    original = [(e["EventId"], e["EventTime"], e["CloudTrailEvent"]) for e in _events(_client(sandbox, "cloudtrail"))]
    loaded = [(e["EventId"], e["EventTime"], e["CloudTrailEvent"]) for e in _events(_client(restored, "cloudtrail", OWNER))]
    assert len(original) == 3
    assert loaded == original


def test_the_http_server_routes_cloudtrail(monkeypatch):
    world = World(Clock(start=START, simulated=True))
    world.settings[DELAY_SETTING] = 0
    running, thread = start_in_thread(Sandbox(world).gateway)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", running.endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", running.endpoint)
        session = boto3.Session(aws_access_key_id=OWNER, aws_secret_access_key="x", region_name="us-east-1")
        session.client(SMS).create_opt_out_list(OptOutListName="Marketing")
        events = session.client("cloudtrail").lookup_events()["Events"]
        assert [e["EventName"] for e in events] == ["CreateOptOutList"]
        with pytest.raises(ClientError) as excinfo:
            session.client("cloudtrail").lookup_events(
                LookupAttributes=[
                    {"AttributeKey": "EventName", "AttributeValue": "A"},
                    {"AttributeKey": "EventName", "AttributeValue": "B"},
                ]
            )
        assert error_of(excinfo)["Error"]["Code"] == "InvalidLookupAttributesException"
    finally:
        running.shutdown()
        running.server_close()
        thread.join(timeout=5)
