"""The request pipeline shared by both front ends, and the in-process ``before-send`` adapter.

:class:`Gateway` turns one raw HTTP request into one raw HTTP response:
identify the caller (account, region, principal) from SigV4 and STS session credentials, pick the
operation, inject faults, take a quota token, add latency, validate the request against botocore's
model, run the handler under the world lock, log the call, encode the result or error in the
service's own protocol. :class:`InProcessAdapter` feeds it from botocore's ``before-send`` event
(the real serializer and parser run on both sides); ``server.py`` feeds it from HTTP.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectionClosedError

from reconciler.sandbox import trail
from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.faults import DROP, DROP_AFTER, ERROR, THROTTLE, ConnectionDropped, Faults, Latency
from reconciler.sandbox.protocols import (
    Headers,
    Protocol,
    RawRequest,
    RawResponse,
    protocol_for,
    service_model,
)
from reconciler.sandbox.quotas import Quotas
from reconciler.sandbox.registry import CLOUDTRAIL, RAM, SMS_VOICE, STS, Call, dispatch
from reconciler.sandbox.state import DEFAULT_ACCOUNT, DEFAULT_REGION, World

__all__ = ["Gateway", "InProcessAdapter", "account_and_region", "service_model"]

SERVICES = (SMS_VOICE, RAM, STS, CLOUDTRAIL)
# SigV4 signing names -> botocore service names.
SIGNING_NAMES = {"sms-voice": SMS_VOICE, "ram": RAM, "sts": STS, "cloudtrail": CLOUDTRAIL}


@dataclass(frozen=True)
class Identity:
    account: str
    region: str
    arn: str
    access_key_id: str


@dataclass(frozen=True)
class CallRecord:
    """One logged call. No parameters are kept (they may hold personal data: phone numbers), only
    the ARN of a tag operation's resource, which names a resource, never a person."""

    service: str
    operation: str
    account: str
    region: str
    time: float
    error: str | None = None
    resource: str | None = None


def _credential_scope(headers: Headers) -> list[str]:
    auth = headers.get("authorization", "") or ""
    marker = "Credential="
    if marker not in auth:
        return []
    return auth.split(marker, 1)[1].split(",", 1)[0].strip().split("/")


# SigV4 credential scope: ``<access key>/<YYYYMMDD>/<region>/<service>/aws4_request``
# (IAM User Guide, "AWS Signature Version 4 for API requests", IAM/latest/UserGuide/reference_sigv.html).
_SCOPE_DATE = re.compile(r"^\d{8}$")
_SCOPE_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def check_credential_scope(scope: list[str], protocol: Protocol) -> None:
    """Refuse a malformed credential scope as AWS does, before the caller is identified.

    - Not exactly five non-empty elements, a date that is not ``YYYYMMDD`` or a last element other
      than ``aws4_request``: ``IncompleteSignature`` — "The request signature does not conform to
      AWS standards", HTTP 400 (Common Errors of every API reference). JSON services spell it
      ``IncompleteSignatureException`` (assumption, as they spell ``UnrecognizedClientException``).
    - A region that is not a region code: the signature check fails with "Credential should be
      scoped to a valid Region, not '<region>'" (IAM User Guide, "Troubleshoot signed requests for
      AWS APIs", IAM/latest/UserGuide/signature-v4-troubleshooting.html): ``InvalidSignatureException``
      (``SignatureDoesNotMatch`` in the query protocol), HTTP 403.
    """
    query = protocol.name == "query"
    if len(scope) != 5 or not all(scope) or not _SCOPE_DATE.match(scope[1]) or scope[4] != "aws4_request":
        raise ApiError(
            "IncompleteSignature" if query else "IncompleteSignatureException",
            "The request signature does not conform to AWS standards: the credential must be "
            "<access key>/<YYYYMMDD>/<region>/<service>/aws4_request",
            status=400,
        )
    if not _SCOPE_REGION.match(scope[2]):
        raise ApiError(
            "SignatureDoesNotMatch" if query else "InvalidSignatureException",
            f"Credential should be scoped to a valid Region, not '{scope[2]}'",
            status=403,
        )


def account_and_region(headers: Any) -> tuple[str, str]:
    """Account from the SigV4 access key id (12 digits *is* the account), region from its scope."""
    scope = _credential_scope(headers if isinstance(headers, Headers) else Headers(dict(headers.items())))
    account = scope[0] if scope and len(scope[0]) == 12 and scope[0].isdigit() else DEFAULT_ACCOUNT
    region = scope[2] if len(scope) >= 3 else DEFAULT_REGION
    return account, region


def signing_service(headers: Headers) -> str | None:
    scope = _credential_scope(headers)
    return SIGNING_NAMES.get(scope[3]) if len(scope) >= 4 else None


class Gateway:
    """Everything between the transport and the handlers; thread-safe."""

    def __init__(
        self,
        world: World,
        quotas: Quotas | None = None,
        faults: Faults | None = None,
        latency: Latency | None = None,
        time_scale: float = 1.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.world = world
        self.quotas = quotas
        self.faults = faults
        self.latency = latency
        self.time_scale = time_scale
        if quotas is not None and time_scale != 1.0:
            quotas.time_scale = time_scale
        self.calls: list[CallRecord] = []
        self._calls_lock = threading.Lock()

    def identify(self, headers: Headers, protocol: Protocol) -> Identity:
        scope = _credential_scope(headers)
        if not scope:
            code = (
                "MissingAuthenticationToken"
                if protocol.name == "query"
                else "MissingAuthenticationTokenException"
            )
            raise ApiError(code, "Request is missing Authentication Token", status=403)
        check_credential_scope(scope, protocol)
        key, region = scope[0], scope[2]
        session = self.world.credentials.get(key)
        if session is not None:
            if headers.get("x-amz-security-token") != session["session_token"]:
                code = "InvalidClientTokenId" if protocol.name == "query" else "UnrecognizedClientException"
                raise ApiError(code, "The security token included in the request is invalid.", status=403)
            if session["expires"] <= self.world.clock.now():
                code = "ExpiredToken" if protocol.name == "query" else "ExpiredTokenException"
                raise ApiError(
                    code,
                    "The security token included in the request is expired",
                    status=400 if protocol.name == "query" else 403,
                )
            return Identity(session["account"], region, session["arn"], key)
        account = key if len(key) == 12 and key.isdigit() else DEFAULT_ACCOUNT
        return Identity(account, region, f"arn:aws:iam::{account}:user/sandbox", key)

    def handle(self, service: str, request: RawRequest) -> RawResponse:
        """Answer one request. Raises :class:`ConnectionDropped` for an injected dropped connection."""
        protocol = protocol_for(service)
        request_id = str(uuid.uuid4())
        operation_name = "?"
        identity: Identity | None = None
        resource: str | None = None
        try:
            decoded = protocol.decode(request)
            operation_name = decoded.operation.name
            if isinstance(decoded.params, dict) and isinstance(decoded.params.get("ResourceArn"), str):
                resource = decoded.params["ResourceArn"]
            identity = self.identify(request.headers, protocol)
            fault = self.faults.pick(operation_name) if self.faults is not None else None
            if fault == DROP:
                raise ConnectionDropped(operation_name)
            if fault == THROTTLE:
                raise ApiError(protocol.throttling_code, "Rate exceeded")
            if fault == ERROR:
                raise ApiError(
                    protocol.internal_code,
                    "Internal server error (injected fault)",
                    status=500,
                    RequestId=request_id,
                )
            clock = self.world.clock
            if self.quotas is not None and not self.quotas.acquire(
                clock, identity.account, identity.region, service, operation_name
            ):
                raise ApiError(protocol.throttling_code, "Rate exceeded")
            if self.latency is not None and self.latency.seconds:
                clock.sleep(self.latency.seconds / self.time_scale)
            if decoded.issues:
                raise protocol.validation_error(decoded.issues)
            call = Call(
                service,
                operation_name,
                decoded.params,
                identity.account,
                identity.region,
                self.world,
                request_id,
            )
            call.extra["principal_arn"] = identity.arn
            call.extra["access_key_id"] = identity.access_key_id
            with self.world.lock:
                result = dispatch(call)
                # The event history records the write only once it has succeeded.
                trail.record(call, result)
            response = protocol.encode_result(decoded.operation, result, request_id)
            self._log(service, operation_name, identity, None, resource)
            if fault == DROP_AFTER:
                raise ConnectionDropped(operation_name)
            return response
        except ApiError as error:
            self._log(service, operation_name, identity, error.code, resource)
            return protocol.encode_error(error, request_id)

    def _log(self, service: str, operation: str, identity: Identity | None, error: str | None,
             resource: str | None = None) -> None:
        account = identity.account if identity else "?"
        region = identity.region if identity else "?"
        with self._calls_lock:
            self.calls.append(CallRecord(service, operation, account, region, self.world.clock.now(), error, resource))


class _RawBody:
    """The minimal urllib3-like body botocore reads from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any):  # type: ignore[no-untyped-def]
        yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def raw_from_prepared(request: AWSPreparedRequest) -> RawRequest:
    parts = urlsplit(request.url)
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes | bytearray):
        body = body.read()
    headers = Headers({key: value for key, value in request.headers.items()})
    return RawRequest(
        request.method, parts.path or "/", parse_qs(parts.query, keep_blank_values=True), headers, bytes(body)
    )


class InProcessAdapter:
    """Answers a boto3/botocore session's requests for every sandbox service in-process."""

    def __init__(self, world: World, gateway: Gateway | None = None) -> None:
        self.world = world
        self.gateway = gateway or Gateway(world)

    def attach(self, session: Any) -> None:
        events = (
            session.events if hasattr(session, "events") else session._session.get_component("event_emitter")
        )
        for service in SERVICES:
            events.register(
                f"before-send.{service}",
                self._handler(service),
                unique_id=f"reconciler-sandbox-{service}-{id(self)}",
            )

    def _handler(self, service: str):  # type: ignore[no-untyped-def]
        def handle(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
            try:
                response = self.gateway.handle(service, raw_from_prepared(request))
            except ConnectionDropped:
                raise ConnectionClosedError(endpoint_url=request.url) from None
            return AWSResponse(request.url, response.status, response.headers, _RawBody(response.body))  # type: ignore[arg-type]

        return handle
