"""Fidelity regressions of the HTTP front end: bodies and signatures the server used to misread.

- A chunked body (``Transfer-Encoding: chunked``) was run as ``{}``; RFC 9112 §7.1 makes parsing
  it a MUST for an HTTP/1.1 recipient.
- JSON nested 100,000 deep was a 500 with a traceback; AWS answers an unreadable JSON body with
  ``SerializationException``.
- ``Credential=/////`` was accepted as an account with an empty region; AWS refuses a malformed
  credential scope (IncompleteSignature, Common Errors) and a scope without a valid Region
  ("Credential should be scoped to a valid Region", IAM User Guide, signature troubleshooting).
"""

from __future__ import annotations

import json
import socket

import boto3
import pytest
from botocore.config import Config
from platform_support import OWNER

SCOPE = f"{OWNER}/20260101/us-east-1/sms-voice/aws4_request"


def _exchange(server, head: bytes, body: bytes = b"") -> bytes:
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(head + body)
        raw.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk
    return reply


def _head(target: str, *extra: str, scope: str = SCOPE) -> bytes:
    lines = [
        "POST / HTTP/1.1",
        "Host: sandbox",
        "Content-Type: application/x-amz-json-1.0",
        f"X-Amz-Target: PinpointSMSVoiceV2.{target}",
        f"Authorization: AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_and_json(reply: bytes) -> tuple[int, dict]:
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body) if body else {}


def _chunked(payload: bytes, size: int = 7) -> bytes:
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nX-Trailer: t\r\n\r\n"


def _configurations(server) -> list[dict]:
    session = boto3.Session(aws_access_key_id=OWNER, aws_secret_access_key="x", region_name="us-east-1")
    sms = session.client("pinpoint-sms-voice-v2", endpoint_url=server.endpoint, config=Config(retries={"total_max_attempts": 1}))
    return sms.describe_protect_configurations()["ProtectConfigurations"]


def test_a_chunked_body_is_decoded_not_run_as_empty(server):
    payload = json.dumps({"Tags": [{"Key": "Name", "Value": "chunked"}], "DeletionProtectionEnabled": True}).encode()
    status, created = _status_and_json(
        _exchange(server, _head("CreateProtectConfiguration", "Transfer-Encoding: chunked"), _chunked(payload))
    )
    assert status == 200
    assert created["Tags"] == [{"Key": "Name", "Value": "chunked"}] and created["DeletionProtectionEnabled"] is True
    assert [c["ProtectConfigurationId"] for c in _configurations(server)] == [created["ProtectConfigurationId"]]


@pytest.mark.parametrize(
    ("extra", "body", "status", "code"),
    [
        (("Transfer-Encoding: gzip, chunked",), b"", 501, "NotImplemented"),
        (("Transfer-Encoding: chunked", "Content-Length: 5"), b"0\r\n\r\n", 400, "SerializationException"),
        (("Transfer-Encoding: chunked",), b"zz\r\n{}\r\n0\r\n\r\n", 400, "SerializationException"),
        (("Transfer-Encoding: chunked",), b"20\r\n{\"Tags\": []}", 400, "SerializationException"),  # cut short
    ],
)
def test_bad_transfer_encodings_are_refused_and_nothing_is_created(server, extra, body, status, code):
    reply = _exchange(server, _head("CreateProtectConfiguration", *extra), body)
    assert _status_and_json(reply)[0] == status
    assert code.encode() in reply
    assert _configurations(server) == []


def test_an_oversized_chunked_body_is_413(server):
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(17)) + b"0\r\n\r\n"
    reply = _exchange(server, _head("CreateProtectConfiguration", "Transfer-Encoding: chunked"), body)
    assert _status_and_json(reply)[0] == 413 and b"RequestEntityTooLargeException" in reply


def test_json_nested_100000_deep_is_a_serialization_exception(server):
    depth = 100_000
    body = b'{"Tags":' * depth + b"1" + b"}" * depth
    reply = _exchange(server, _head("CreateProtectConfiguration", f"Content-Length: {len(body)}"), body)
    status, error = _status_and_json(reply)
    assert (status, error["__type"]) == (400, "SerializationException")
    assert _configurations(server) == []


@pytest.mark.parametrize(
    ("scope", "status", "code"),
    [
        ("/////", 400, "IncompleteSignatureException"),
        (f"{OWNER}/20260101/us-east-1/sms-voice", 400, "IncompleteSignatureException"),
        (f"{OWNER}/2026-01-01/us-east-1/sms-voice/aws4_request", 400, "IncompleteSignatureException"),
        (f"{OWNER}/20260101/us-east-1/sms-voice/aws4_request/extra", 400, "IncompleteSignatureException"),
        (f"{OWNER}/20260101//sms-voice/aws4_request", 400, "IncompleteSignatureException"),
        (f"{OWNER}/20260101/not a region/sms-voice/aws4_request", 403, "InvalidSignatureException"),
    ],
)
def test_a_malformed_credential_scope_is_refused(server, scope, status, code):
    body = b'{"Tags": [{"Key": "Name", "Value": "unsigned"}]}'
    reply = _exchange(server, _head("CreateProtectConfiguration", f"Content-Length: {len(body)}", scope=scope), body)
    got_status, error = _status_and_json(reply)
    assert (got_status, error["__type"]) == (status, code)
    assert server.gateway.world.regions == {} or all(
        not state.protect_configurations for state in server.gateway.world.regions.values()
    )


def test_the_query_protocol_names_the_signature_errors_its_own_way(server):
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    for scope, code in (("/////", b"<Code>IncompleteSignature</Code>"), (f"{OWNER}/20260101/x/sts/aws4_request", b"<Code>SignatureDoesNotMatch</Code>")):
        head = (
            "POST / HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00\r\n"
            f"Content-Length: {len(form)}\r\n\r\n"
        ).encode()
        assert code in _exchange(server, head, form)
