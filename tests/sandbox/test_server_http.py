"""The HTTP front end: all three services on one loopback port, AWS errors for bad requests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from platform_support import CONSUMER, OWNER, START

from reconciler.sandbox import Faults, wire
from reconciler.sandbox.server import SandboxHTTPServer, start_in_thread
from reconciler.sandbox.state import Clock, World
from reconciler.sandbox.wire import Gateway

REPO = Path(__file__).resolve().parents[2]
SMS = "pinpoint-sms-voice-v2"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _client(server, service, account=OWNER, config=NO_RETRY):
    session = boto3.Session(aws_access_key_id=account, aws_secret_access_key="x", region_name="us-east-1")
    return session.client(service, endpoint_url=server.endpoint, config=config)


def _post(server, path="/", body=b"", headers=None, method="POST"):
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), data


def _signed(service, **extra):
    scope = f"{OWNER}/20260101/us-east-1/{service}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00",
        **extra,
    }


def test_one_port_serves_all_three_services(server):
    sms = _client(server, SMS)
    created = sms.create_opt_out_list(OptOutListName="over-http")
    assert created["OptOutListArn"].endswith(":opt-out-list/over-http")
    assert _client(server, "sts", CONSUMER).get_caller_identity()["Account"] == CONSUMER
    share = _client(server, "ram").create_resource_share(name="http", principals=[CONSUMER])["resourceShare"]
    assert share["owningAccountId"] == OWNER
    unchecked = _client(
        server, SMS, config=Config(parameter_validation=False, retries={"total_max_attempts": 1})
    )
    with pytest.raises(unchecked.exceptions.ValidationException) as excinfo:
        unchecked.describe_pools(MaxResults=101)
    assert excinfo.value.response["Reason"] == "FIELD_VALIDATION_FAILED"
    assert [c.operation for c in server.gateway.calls][:3] == [
        "CreateOptOutList",
        "GetCallerIdentity",
        "CreateResourceShare",
    ]


def test_bad_requests_get_aws_errors_and_the_server_survives(server):
    target = {"X-Amz-Target": "PinpointSMSVoiceV2.DescribePools"}
    status, _, body = _post(
        server,
        body=b"{oops",
        headers=_signed("sms-voice", **target, **{"Content-Type": "application/x-amz-json-1.0"}),
    )
    assert (status, json.loads(body)["__type"]) == (400, "SerializationException")
    status, _, body = _post(
        server,
        body=b"{}",
        headers=_signed(
            "sms-voice",
            **{"X-Amz-Target": "PinpointSMSVoiceV2.Nope", "Content-Type": "application/x-amz-json-1.0"},
        ),
    )
    assert (status, json.loads(body)["__type"]) == (400, "UnknownOperationException")
    status, _, body = _post(
        server, body=b"{}", headers=_signed("sms-voice", **target, **{"Content-Type": "text/plain"})
    )
    assert (status, json.loads(body)["__type"]) == (400, "UnknownOperationException")
    status, _, body = _post(
        server,
        body=b"x" * (1024 * 1024 + 1),
        headers=_signed("sms-voice", **target, **{"Content-Type": "application/x-amz-json-1.0"}),
    )
    assert (status, json.loads(body)["__type"]) == (413, "RequestEntityTooLargeException")
    status, headers, _ = _post(
        server, path="/nothing-here", body=b"{}", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and headers.get("x-amzn-ErrorType") == "UnknownOperationException"
    status, _, body = _post(
        server,
        body=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body
    status, headers, _ = _post(
        server,
        path="/getresourceshares",
        body=b"[]",
        headers=_signed("ram", **{"Content-Type": "application/json"}),
    )
    assert status == 400 and headers["x-amzn-ErrorType"] == "SerializationException"
    # Still serving.
    assert _client(server, "sts").get_caller_identity()["Account"] == OWNER


def test_a_handler_failure_is_a_500_not_a_dead_server(server, monkeypatch):
    def broken(call):
        raise RuntimeError("handler bug")

    monkeypatch.setattr(wire, "dispatch", broken)
    sms = _client(server, SMS)
    with pytest.raises(sms.exceptions.InternalServerException):
        sms.describe_pools()
    monkeypatch.undo()
    assert "Pools" in sms.describe_pools()


def test_dropped_connection_fault_over_http():
    gateway = Gateway(World(Clock(start=START, simulated=True)), faults=Faults(drop_rate=1.0))
    running, thread = start_in_thread(gateway)
    try:
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            _client(running, SMS).describe_pools()
    finally:
        running.shutdown()
        running.server_close()
        thread.join(timeout=5)


def test_only_loopback_hosts_are_accepted():
    with pytest.raises(ValueError, match="loopback"):
        SandboxHTTPServer(Gateway(World()), host="0.0.0.0")


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_command_prints_endpoint_saves_on_sigterm(tmp_path):
    state = tmp_path / "state.json"
    process = _serve("--state", str(state), "--save-on-exit")
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("Sandbox listening on http://127.0.0.1:")
        endpoint = line.rsplit(" ", 1)[1]
        env_session = boto3.Session(
            aws_access_key_id=OWNER, aws_secret_access_key="x", region_name="us-east-1"
        )
        env_session.client(SMS, endpoint_url=endpoint, config=NO_RETRY).create_opt_out_list(
            OptOutListName="persisted"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    saved = json.loads(state.read_text())
    region = next(r for r in saved["regions"] if r["account"] == OWNER)
    assert "persisted" in region["opt_out_lists"]


def test_serve_command_stops_on_sigint_and_saves(tmp_path):
    state = tmp_path / "state.json"
    process = _serve("--state", str(state), "--save-on-exit")
    try:
        endpoint = process.stdout.readline().strip().rsplit(" ", 1)[1]
        session = boto3.Session(aws_access_key_id=OWNER, aws_secret_access_key="x", region_name="us-east-1")
        session.client(SMS, endpoint_url=endpoint, config=NO_RETRY).create_opt_out_list(OptOutListName="on-ctrl-c")
        process.send_signal(signal.SIGINT)  # Ctrl-C in a terminal
        assert process.wait(timeout=30) == 0
        _, err = process.communicate(timeout=10)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
    finally:
        if process.poll() is None:
            process.kill()
    saved = json.loads(state.read_text())
    region = next(r for r in saved["regions"] if r["account"] == OWNER)
    assert "on-ctrl-c" in region["opt_out_lists"]
    # The saved state is what the next serve starts from.
    again = _serve("--state", str(state))
    try:
        endpoint = again.stdout.readline().strip().rsplit(" ", 1)[1]
        session = boto3.Session(aws_access_key_id=OWNER, aws_secret_access_key="x", region_name="us-east-1")
        lists = session.client(SMS, endpoint_url=endpoint, config=NO_RETRY).describe_opt_out_lists()["OptOutLists"]
        assert "on-ctrl-c" in [item["OptOutListName"] for item in lists]
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=30) == 0
    finally:
        if again.poll() is None:
            again.kill()


def test_serve_command_refuses_bad_options(tmp_path):
    for args, message in (
        (["--host", "0.0.0.0"], "loopback addresses only"),
        (["--state", str(tmp_path / "missing.json")], "no such snapshot"),
        (["--save-on-exit"], "--save-on-exit needs --state"),
        (["--fault-error", "0.8", "--fault-drop", "0.8"], "fault rates"),
    ):
        process = _serve(*args)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 1, (args, err)
        assert message in err and "Traceback" not in err


def test_endpoint_environment_variables_reach_the_server(server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", server.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_RAM", server.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.endpoint)
    session = boto3.Session(aws_access_key_id=CONSUMER, aws_secret_access_key="x", region_name="us-east-1")
    assert session.client("sts").get_caller_identity()["Account"] == CONSUMER
    assert session.client("ram").list_permissions()["permissions"]
    assert "Pools" in session.client(SMS).describe_pools()
    assert os.environ["AWS_ENDPOINT_URL_RAM"] == server.endpoint


def test_global_endpoint_environment_variable_reaches_the_server(server, monkeypatch):
    for name in ("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", "AWS_ENDPOINT_URL_RAM", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    session = boto3.Session(aws_access_key_id=OWNER, aws_secret_access_key="x", region_name="us-east-1")
    session.client(SMS, config=NO_RETRY).create_opt_out_list(OptOutListName="via-global-endpoint")
    assert session.client("sts", config=NO_RETRY).get_caller_identity()["Account"] == OWNER
    assert session.client("ram", config=NO_RETRY).get_resource_shares(resourceOwner="SELF")["resourceShares"] == []
    assert "via-global-endpoint" in server.gateway.world.region(OWNER, "us-east-1").opt_out_lists


def test_raw_http_requests_are_validated_server_side(server):
    headers = _signed(
        "sms-voice",
        **{
            "X-Amz-Target": "PinpointSMSVoiceV2.DescribePhoneNumbers",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    body = json.dumps({"PhoneNumberIds": [f"phone-{i:032x}" for i in range(6)], "Colour": "blue"}).encode()
    status, response_headers, data = _post(server, body=body, headers=headers)
    error = json.loads(data)
    assert (status, response_headers["x-amzn-ErrorType"], error["Reason"]) == (
        400,
        "ValidationException",
        "FIELD_VALIDATION_FAILED",
    )
    assert [field["Name"] for field in error["Fields"]] == ["Colour", "PhoneNumberIds"]
    form = b"Action=GetCallerIdentity&Version=2011-06-15&Colour=blue"
    status, _, data = _post(
        server, body=form, headers=_signed("sts", **{"Content-Type": "application/x-www-form-urlencoded"})
    )
    assert status == 400 and b"<Code>ValidationError</Code>" in data and b"Colour" in data


def _built(*options: str):
    import argparse

    from reconciler.commands.sandbox import build_sandbox, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return build_sandbox(parser.parse_args(["sandbox", "serve", "--simulated-clock", *options]))


def test_serve_options_for_quotas_latency_faults_and_delay_reach_http_clients():
    slow = _built("--latency", "0.5", "--time-scale", "5", "--association-delay", "30")
    assert slow.world.settings["ram.association_delay"] == 30
    running, thread = start_in_thread(slow.gateway)
    try:
        started = slow.world.clock.latest()
        _client(running, SMS).describe_pools()
        assert slow.world.clock.latest() - started == pytest.approx(0.5 / 5)  # latency, time-scaled
    finally:
        running.shutdown()
        running.server_close()
        thread.join(timeout=5)
    sandbox = _built("--quotas")
    running, thread = start_in_thread(sandbox.gateway)
    try:
        sms = _client(running, SMS)
        sms.describe_pools()
        with pytest.raises(sms.exceptions.ThrottlingException):
            sms.describe_pools()  # AWS's default: 1 request/s
        sandbox.world.clock.advance(1.0)
        sms.describe_pools()
    finally:
        running.shutdown()
        running.server_close()
        thread.join(timeout=5)
    failing = _built("--fault-error", "1.0", "--fault-seed", "4")
    running, thread = start_in_thread(failing.gateway)
    try:
        sms = _client(running, SMS)
        with pytest.raises(sms.exceptions.InternalServerException):
            sms.create_opt_out_list(OptOutListName="never")
        assert "never" not in failing.world.region(OWNER, "us-east-1").opt_out_lists
    finally:
        running.shutdown()
        running.server_close()
        thread.join(timeout=5)


def test_a_huge_declared_body_is_refused_without_being_read(server):
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(
            b"POST / HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"X-Amz-Target: PinpointSMSVoiceV2.DescribePools\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=111122223333/20260101/us-east-1/sms-voice/aws4_request, "
            b"SignedHeaders=host, Signature=00\r\nContent-Length: 1000000000\r\n\r\n"
        )
        reply = raw.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413 ") and b"RequestEntityTooLargeException" in reply
    assert _client(server, "sts").get_caller_identity()["Account"] == OWNER


def test_a_request_cut_off_mid_body_is_never_acted_on(server):
    """A client killed while sending: the body is shorter than its Content-Length. An empty JSON
    body would otherwise parse as ``{}``: a protect configuration without its Name tag."""
    host, port = server.server_address[:2]
    body = b'{"Tags": [{"Key": "Name", "Value": "strict"}]}'
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(
            b"POST / HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"X-Amz-Target: PinpointSMSVoiceV2.CreateProtectConfiguration\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=111122223333/20260101/us-east-1/sms-voice/aws4_request, "
            b"SignedHeaders=host, Signature=00\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        raw.shutdown(socket.SHUT_WR)  # the client is gone: no more bytes will come
        assert raw.recv(65536) == b""  # closed without an answer
    sms = _client(server, SMS, account="111122223333")
    assert sms.describe_protect_configurations()["ProtectConfigurations"] == []
