"""In-process wire adapter: answers boto3 requests through botocore's ``before-send`` event.

botocore serialises the request with the real service model before ``before-send`` fires and
parses whatever we return with the real parser, so the sandbox is exercised exactly as AWS would be.
This first version speaks the JSON 1.0 protocol of pinpoint-sms-voice-v2.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.model import OperationModel, ServiceModel, StructureShape
from botocore.parsers import JSONParser
from botocore.serialize import JSONSerializer

from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.registry import Call, dispatch
from reconciler.sandbox.state import DEFAULT_ACCOUNT, DEFAULT_REGION, World

_MODELS: dict[str, ServiceModel] = {}


def service_model(service: str) -> ServiceModel:
    model = _MODELS.get(service)
    if model is None:
        model = botocore.session.get_session().get_service_model(service)
        _MODELS[service] = model
    return model


class _RawBody:
    """The minimal urllib3-like body botocore reads from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any):  # type: ignore[no-untyped-def]
        yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def account_and_region(headers: Any) -> tuple[str, str]:
    """Account from the SigV4 access key id (12 digits *is* the account), region from its scope."""
    auth = headers.get("Authorization", "") or ""
    if isinstance(auth, bytes):
        auth = auth.decode()
    account, region = DEFAULT_ACCOUNT, DEFAULT_REGION
    marker = "Credential="
    if marker in auth:
        scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
        if scope and len(scope[0]) == 12 and scope[0].isdigit():
            account = scope[0]
        if len(scope) >= 3:
            region = scope[2]
    return account, region


def parse_json_input(operation: OperationModel, body: bytes) -> dict[str, Any]:
    """Decode a JSON-protocol request body into botocore-shaped Python values."""
    shape = operation.input_shape
    if shape is None:
        return {}
    data = json.loads(body or b"{}")
    return JSONParser()._parse_shape(shape, data)  # type: ignore[no-any-return]


def serialize_json_output(shape: StructureShape | None, value: dict[str, Any]) -> bytes:
    if shape is None:
        return b"{}"
    out: dict[str, Any] = {}
    JSONSerializer()._serialize(out, value, shape)
    return json.dumps(out).encode()


def json_error(service: ServiceModel, error: ApiError) -> tuple[int, dict[str, str], bytes]:
    status = error.status or 400
    for shape in service.error_shapes:
        if shape.name == error.code:
            status = shape.metadata.get("error", {}).get("httpStatusCode", status)
    body = {"__type": error.code, "message": error.message, **error.fields}
    return status, {"x-amzn-ErrorType": error.code}, json.dumps(body).encode()


class InProcessAdapter:
    """Register on a boto3/botocore session: ``InProcessAdapter(world).attach(session)``."""

    def __init__(self, world: World) -> None:
        self.world = world

    def attach(self, session: Any) -> None:
        events = session.events if hasattr(session, "events") else session._session.get_component("event_emitter")
        events.register("before-send.pinpoint-sms-voice-v2", self._handle_json)

    def _handle_json(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        service = service_model("pinpoint-sms-voice-v2")
        request_id = str(uuid.uuid4())
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"}
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        name = target.rsplit(".", 1)[-1]
        try:
            operation = service.operation_model(name)
            params = parse_json_input(operation, request.body or b"")  # type: ignore[arg-type]
            account, region = account_and_region(request.headers)
            call = Call("pinpoint-sms-voice-v2", name, params, account, region, self.world, request_id)
            with self.world.lock:
                result = dispatch(call)
            status, body = 200, serialize_json_output(operation.output_shape, result)  # type: ignore[arg-type]
        except ApiError as error:
            status, extra, body = json_error(service, error)
            headers.update(extra)
        return AWSResponse(request.url, status, headers, _RawBody(body))  # type: ignore[arg-type]
