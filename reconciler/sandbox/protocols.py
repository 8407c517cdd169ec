"""The three wire protocols the sandbox speaks, each driven by botocore's service model.

- ``json`` (pinpoint-sms-voice-v2): POST ``/``, ``X-Amz-Target: PinpointSMSVoiceV2.<Operation>``,
  JSON 1.0 body; errors ``{"__type": code, "Message": ..., <fields>}``.
- ``rest-json`` (ram): the operation is chosen by HTTP method and the model's ``requestUri``;
  members come from the JSON body or the query string as each member's ``location`` says;
  errors carry ``x-amzn-ErrorType`` and ``{"message": ..., <fields>}``.
- ``query`` (sts): ``Action=<Operation>&Version=<apiVersion>&...`` form body, XML responses wrapped
  in ``<OperationResponse><OperationResult>``; errors ``<ErrorResponse><Error>``.

Each protocol decodes a :class:`RawRequest` into the operation name and botocore-shaped params
(plus any validation issues), and encodes results and :class:`ApiError` s into a
:class:`RawResponse` that botocore's own parser reads back.
"""

from __future__ import annotations

import base64
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.parsers import JSONParser
from botocore.serialize import JSONSerializer

from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.validation import MISSING, UNKNOWN, Issue, summary, validate

_MODELS: dict[str, ServiceModel] = {}


def service_model(service: str) -> ServiceModel:
    model = _MODELS.get(service)
    if model is None:
        model = botocore.session.get_session().get_service_model(service)
        _MODELS[service] = model
    return model


class Headers(dict[str, str]):
    """Case-insensitive request headers (keys stored lower-case)."""

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        for key, value in (items or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        super().__setitem__(key.lower(), text)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class RawRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Decoded:
    operation: OperationModel
    params: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)


def _python_value(shape: Shape, value: Any) -> Any:
    """Wire JSON → botocore-shaped Python (timestamps → aware datetime, blobs → bytes)."""
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return {
            name: _python_value(shape.members[name], item)
            for name, item in value.items()
            if name in shape.members
        }
    if kind == "list":
        return [_python_value(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if kind == "map":
        return {key: _python_value(shape.value, item) for key, item in value.items()}  # type: ignore[attr-defined]
    if kind == "timestamp":
        if isinstance(value, datetime):
            return value
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        return JSONParser()._timestamp_parser(value)
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    return value


def _json_output(shape: StructureShape | None, value: Mapping[str, Any]) -> bytes:
    if shape is None:
        return b"{}"
    out: dict[str, Any] = {}
    JSONSerializer()._serialize(out, dict(value), shape)
    return json.dumps(out, sort_keys=True).encode()


class Protocol(ABC):
    """Base: error shape lookup and status codes shared by every protocol."""

    name = ""
    # Status codes for error shapes whose model omits ``httpStatusCode`` (pinpoint-sms-voice-v2).
    default_status: ClassVar[dict[str, int]] = {}
    throttling_code = "ThrottlingException"
    internal_code = "InternalServerException"
    unknown_operation_code = "UnknownOperationException"

    def __init__(self, service: str) -> None:
        self.service = service
        self.model = service_model(service)
        self.errors = {shape.name: shape for shape in self.model.error_shapes}

    def operation(self, name: str) -> OperationModel:
        if name not in self.model.operation_names:
            raise ApiError(
                self.unknown_operation_code, f"Unknown operation {name!r} for {self.service}", status=400
            )
        return self.model.operation_model(name)

    def status_of(self, error: ApiError) -> int:
        if error.status is not None:
            return error.status
        shape = self.errors.get(error.code)
        if shape is not None and "httpStatusCode" in shape.metadata.get("error", {}):
            return int(shape.metadata["error"]["httpStatusCode"])
        return self.default_status.get(error.code, 400)

    @abstractmethod
    def decode(self, request: RawRequest) -> Decoded: ...

    @abstractmethod
    def encode_result(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> RawResponse: ...

    @abstractmethod
    def encode_error(self, error: ApiError, request_id: str) -> RawResponse: ...

    @abstractmethod
    def validation_error(self, issues: list[Issue]) -> ApiError: ...


class JsonProtocol(Protocol):
    """AWS JSON 1.0 (pinpoint-sms-voice-v2)."""

    name = "json"
    # The model omits status codes; the API reference lists 400 for every modelled error but
    # InternalServerException (500).
    default_status: ClassVar[dict[str, int]] = {
        "ValidationException": 400,
        "AccessDeniedException": 400,
        "ResourceNotFoundException": 400,
        "ConflictException": 400,
        "ServiceQuotaExceededException": 400,
        "ThrottlingException": 400,
        "InternalServerException": 500,
        "UnknownOperationException": 400,
        "SerializationException": 400,
        "UnrecognizedClientException": 403,
        "ExpiredTokenException": 403,
    }

    def decode(self, request: RawRequest) -> Decoded:
        target = request.headers.get("x-amz-target", "")
        prefix = self.model.metadata.get("targetPrefix", "")
        if request.method != "POST" or not target.startswith(prefix + "."):
            raise ApiError(self.unknown_operation_code, "Missing or unknown X-Amz-Target", status=400)
        operation = self.operation(target[len(prefix) + 1 :])
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        # Strictest plausible: AWS JSON services accept only their JSON content types.
        if content_type not in ("application/x-amz-json-1.0", "application/x-amz-json-1.1"):
            raise ApiError(
                self.unknown_operation_code, f"Unsupported content type {content_type!r}", status=400
            )
        raw = _load_json(request.body)
        issues = validate(operation.input_shape, raw)
        params = {} if issues or operation.input_shape is None else _python_value(operation.input_shape, raw)
        return Decoded(operation, params, issues)

    def encode_result(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> RawResponse:
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"}
        return RawResponse(200, headers, _json_output(operation.output_shape, result))  # type: ignore[arg-type]

    def encode_error(self, error: ApiError, request_id: str) -> RawResponse:
        shape = self.errors.get(error.code)
        message_key = "Message" if shape is None or "Message" in shape.members else "message"
        body = {"__type": error.code, message_key: error.message, **error.fields}
        if shape is not None:
            body = {k: v for k, v in body.items() if k in ("__type", message_key) or k in shape.members}
        headers = {
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": error.code,
            "Content-Type": "application/x-amz-json-1.0",
        }
        return RawResponse(self.status_of(error), headers, json.dumps(body, default=str).encode())

    def validation_error(self, issues: list[Issue]) -> ApiError:
        kinds = {issue.kind for issue in issues}
        # The model's ValidationExceptionReason has no single "invalid input" value; pick the most
        # specific one that covers every issue, else FIELD_VALIDATION_FAILED.
        if kinds == {MISSING}:
            reason = "MISSING_PARAMETER"
        elif kinds == {UNKNOWN}:
            reason = "UNSPECIFIED_PARAMETER_NOT_SUPPORTED"
        else:
            reason = "FIELD_VALIDATION_FAILED"
        fields = [{"Name": issue.path, "Message": issue.message} for issue in issues]
        return ApiError("ValidationException", summary(issues), Reason=reason, Fields=fields)


class CloudTrailProtocol(JsonProtocol):
    """AWS JSON 1.1 (cloudtrail): as JSON 1.0, with CloudTrail's own validation errors.

    CloudTrail declares one exception per invalid parameter instead of a generic
    ``ValidationException``; a request that breaks the model's constraints gets the exception of
    the parameter at fault (the first one, in member order).
    """

    by_member: ClassVar[dict[str, str]] = {
        "LookupAttributes": "InvalidLookupAttributesException",
        "StartTime": "InvalidTimeRangeException",
        "EndTime": "InvalidTimeRangeException",
        "MaxResults": "InvalidMaxResultsException",
        "NextToken": "InvalidNextTokenException",
        "EventCategory": "InvalidEventCategoryException",
    }

    def encode_result(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> RawResponse:
        response = super().encode_result(operation, result, request_id)
        response.headers["Content-Type"] = "application/x-amz-json-1.1"
        return response

    def encode_error(self, error: ApiError, request_id: str) -> RawResponse:
        response = super().encode_error(error, request_id)
        response.headers["Content-Type"] = "application/x-amz-json-1.1"
        return response

    def validation_error(self, issues: list[Issue]) -> ApiError:
        for issue in issues:
            member = re.split(r"[.\[]", issue.path, maxsplit=1)[0]
            code = self.by_member.get(member)
            if code is not None:
                return ApiError(code, summary(issues), status=400)
        # Anything else (an unknown member, a wrong type at the top level): the generic JSON
        # protocol error every AWS JSON service answers.
        return ApiError("ValidationException", summary(issues), status=400)


def _load_json(body: bytes) -> dict[str, Any]:
    if not body or not body.strip():
        return {}
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("SerializationException", "Request body is not valid JSON", status=400) from None
    except RecursionError:
        # JSON nested deeper than the parser's stack: a malformed request, not a server fault
        # (AWS answers unreadable JSON bodies with SerializationException; no API nests this deep).
        raise ApiError("SerializationException", "Request body is nested too deeply", status=400) from None
    if not isinstance(raw, dict):
        raise ApiError("SerializationException", "Request body must be a JSON object", status=400)
    return raw


class RestJsonProtocol(Protocol):
    """REST-JSON (ram): route by method and path, members by ``location``."""

    name = "rest-json"
    throttling_code = "ThrottlingException"
    internal_code = "ServerInternalException"
    unknown_operation_code = "UnknownOperationException"

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.routes: list[tuple[str, re.Pattern[str], str]] = []
        for name in self.model.operation_names:
            http = self.model.operation_model(name).http
            path = http.get("requestUri", "/").split("?", 1)[0]
            pattern = re.sub(r"\\\{([^}+]+)\+?\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            self.routes.append((http.get("method", "POST"), re.compile(f"^{pattern}$"), name))

    def decode(self, request: RawRequest) -> Decoded:
        operation: OperationModel | None = None
        labels: dict[str, str] = {}
        for method, pattern, name in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                operation, labels = self.model.operation_model(name), match.groupdict()
                break
        if operation is None:
            raise ApiError(
                self.unknown_operation_code, f"No operation for {request.method} {request.path}", status=404
            )
        shape = operation.input_shape
        raw: dict[str, Any] = {}
        issues: list[Issue] = []
        body_members = {}
        if shape is not None:
            for name, member in shape.members.items():
                location = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if location == "querystring" and wire in request.query:
                    raw[name] = _from_text(member, request.query[wire])
                elif location == "header" and request.headers.get(wire) is not None:
                    raw[name] = _from_text(member, [request.headers.get(wire)])
                elif location == "uri" and wire in labels:
                    raw[name] = labels[wire]
                elif location is None:
                    body_members[member.serialization.get("name", name)] = name
        body = _load_json(request.body)
        if body and request.headers.get("content-type", "").split(";")[0].strip().lower() not in (
            "application/json",
            "application/x-amz-json-1.1",
        ):
            raise ApiError("SerializationException", "Unsupported content type for a JSON body", status=415)
        for key, value in body.items():
            if key in body_members:
                raw[body_members[key]] = value
            else:
                issues.append(Issue(key, f"Unknown member '{key}'", UNKNOWN))
        issues.extend(validate(shape, raw))
        params = {} if issues or shape is None else _python_value(shape, raw)
        return Decoded(operation, params, issues)

    def encode_result(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> RawResponse:
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/json"}
        return RawResponse(200, headers, _json_output(operation.output_shape, result))  # type: ignore[arg-type]

    def encode_error(self, error: ApiError, request_id: str) -> RawResponse:
        body = {"message": error.message, **error.fields}
        headers = {
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": error.code,
            "Content-Type": "application/json",
        }
        return RawResponse(self.status_of(error), headers, json.dumps(body, default=str).encode())

    def validation_error(self, issues: list[Issue]) -> ApiError:
        # RAM declares its own validation errors instead of a generic ValidationException.
        missing = [issue for issue in issues if issue.kind == MISSING]
        if missing and len(missing) == len(issues):
            return ApiError("MissingRequiredParameterException", summary(issues))
        return ApiError("InvalidParameterException", summary(issues))


def _from_text(shape: Shape, values: list[str]) -> Any:
    """A query-string or header member: strings as sent, numbers and booleans parsed."""
    if shape.type_name == "list":
        return [_scalar(shape.member, value) for value in values]  # type: ignore[attr-defined]
    return _scalar(shape, values[-1])


def _scalar(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            return text  # left as text so validation reports the wrong type
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    return text


class QueryProtocol(Protocol):
    """AWS Query (sts): form-encoded ``Action`` requests, XML responses."""

    name = "query"
    throttling_code = "Throttling"
    internal_code = "InternalFailure"
    unknown_operation_code = "InvalidAction"

    def decode(self, request: RawRequest) -> Decoded:
        form: dict[str, list[str]] = dict(request.query)
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if request.body and content_type != "application/x-www-form-urlencoded":
                raise ApiError("InvalidAction", f"Unsupported content type {content_type!r}", status=400)
            try:
                form.update(parse_qs(request.body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise ApiError("MalformedQueryString", "Request body is not UTF-8", status=400) from None
        flat = {key: values[-1] for key, values in form.items()}
        action = flat.pop("Action", "")
        version = flat.pop("Version", "")
        if not action:
            raise ApiError("MissingAction", "Missing Action parameter", status=400)
        if version != self.model.api_version:
            raise ApiError(
                "InvalidAction",
                f"Could not find operation {action} for version {version or 'NO_VERSION_SPECIFIED'}",
                status=400,
            )
        operation = self.operation(action)
        shape = operation.input_shape
        used: set[str] = set()
        raw = _query_value(shape, flat, "", used) if shape is not None else {}
        issues = [Issue(key, f"Unknown member '{key}'", UNKNOWN) for key in sorted(set(flat) - used)]
        issues.extend(validate(shape, raw or {}))
        params = {} if issues or shape is None else _python_value(shape, raw)
        return Decoded(operation, params, issues)

    def encode_result(
        self, operation: OperationModel, result: Mapping[str, Any], request_id: str
    ) -> RawResponse:
        name = operation.name
        shape = operation.output_shape
        inner = _xml_members(shape, result) if shape is not None else ""
        xmlns = f"https://{self.model.endpoint_prefix}.amazonaws.com/doc/{self.model.api_version}/"
        wrapper = (
            shape.serialization.get("resultWrapper", f"{name}Result")
            if shape is not None
            else f"{name}Result"
        )
        body = (
            f'<{name}Response xmlns="{xmlns}"><{wrapper}>{inner}</{wrapper}>'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{name}Response>"
        )
        return RawResponse(200, {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}, body.encode())

    def encode_error(self, error: ApiError, request_id: str) -> RawResponse:
        code = error.code
        shape = self.errors.get(code)
        if shape is not None:
            code = shape.metadata.get("error", {}).get("code", code)
        status = self.status_of(error)
        fault = "Sender" if status < 500 else "Receiver"
        xmlns = f"https://{self.model.endpoint_prefix}.amazonaws.com/doc/{self.model.api_version}/"
        body = (
            f'<ErrorResponse xmlns="{xmlns}"><Error><Type>{fault}</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return RawResponse(
            status, {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}, body.encode()
        )

    def validation_error(self, issues: list[Issue]) -> ApiError:
        return ApiError("ValidationError", summary(issues), status=400)


def _query_value(shape: Shape, flat: dict[str, str], prefix: str, used: set[str]) -> Any:
    """Rebuild one member from flat ``A.member.1.B`` form keys, recording the keys consumed."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            key = (
                f"{prefix}.{member.serialization.get('name', name)}"
                if prefix
                else member.serialization.get("name", name)
            )
            if key in flat or any(k.startswith(key + ".") for k in flat):
                out[name] = _query_value(member, flat, key, used)
        return out
    if kind == "list":
        flattened = shape.serialization.get("flattened", False)
        base = prefix if flattened else f"{prefix}.{shape.member.serialization.get('name', 'member')}"  # type: ignore[attr-defined]
        if prefix in flat and flat[prefix] == "":
            used.add(prefix)
            return []
        items = []
        index = 1
        while f"{base}.{index}" in flat or any(k.startswith(f"{base}.{index}.") for k in flat):
            items.append(_query_value(shape.member, flat, f"{base}.{index}", used))  # type: ignore[attr-defined]
            index += 1
        return items
    if kind == "map":
        result: dict[str, Any] = {}
        index = 1
        while f"{prefix}.entry.{index}.key" in flat:
            key = flat[f"{prefix}.entry.{index}.key"]
            used.add(f"{prefix}.entry.{index}.key")
            result[key] = _query_value(shape.value, flat, f"{prefix}.entry.{index}.value", used)  # type: ignore[attr-defined]
            index += 1
        return result
    used.add(prefix)
    return _scalar(shape, flat.get(prefix, ""))


def _xml_scalar(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "timestamp":
        when = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), tz=UTC)
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return base64.b64encode(value).decode()
    return escape(str(value))


def _xml_members(shape: StructureShape, value: Mapping[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():
        if value.get(name) is None:
            continue
        tag = member.serialization.get("name", name)
        parts.append(_xml_value(member, value[name], tag))
    return "".join(parts)


def _xml_value(shape: Shape, value: Any, tag: str) -> str:
    kind = shape.type_name
    if kind == "structure":
        return f"<{tag}>{_xml_members(shape, value)}</{tag}>"  # type: ignore[arg-type]
    if kind == "list":
        member = shape.member  # type: ignore[attr-defined]
        if shape.serialization.get("flattened"):
            return "".join(_xml_value(member, item, tag) for item in value)
        item_tag = member.serialization.get("name", "member")
        return f"<{tag}>" + "".join(_xml_value(member, item, item_tag) for item in value) + f"</{tag}>"
    if kind == "map":
        entries = "".join(
            f"<entry>{_xml_value(shape.key, key, 'key')}{_xml_value(shape.value, item, 'value')}</entry>"  # type: ignore[attr-defined]
            for key, item in sorted(value.items())
        )
        return f"<{tag}>{entries}</{tag}>"
    return f"<{tag}>{_xml_scalar(shape, value)}</{tag}>"


_PROTOCOLS: dict[str, Protocol] = {}


def protocol_for(service: str) -> Protocol:
    """The protocol object of ``service`` (cached; built from its model's ``protocol``)."""
    found = _PROTOCOLS.get(service)
    if found is None:
        kind = service_model(service).metadata["protocol"]
        if service == "cloudtrail":
            found = _PROTOCOLS[service] = CloudTrailProtocol(service)
            return found
        kinds: dict[str, type[JsonProtocol | RestJsonProtocol | QueryProtocol]] = {
            "json": JsonProtocol,
            "rest-json": RestJsonProtocol,
            "query": QueryProtocol,
        }
        found = kinds[kind](service)
        _PROTOCOLS[service] = found
    return found
