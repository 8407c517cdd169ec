"""CloudTrail ``LookupEvents`` over the event history that trail.py records.

Newest first; one lookup attribute at most; ``StartTime`` / ``EndTime`` inclusive; only events
already delivered and inside the 90-day retention; pages of ``MaxResults`` (1-50, default 50)
with a ``NextToken`` bound to the request's other parameters. See docs/sandbox-operations.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.paging import decode_token, encode_token
from reconciler.sandbox.registry import CLOUDTRAIL, Call, operation
from reconciler.sandbox.state import TrailEvent
from reconciler.sandbox.trail import RETENTION_SECONDS

DEFAULT_MAX_RESULTS = 50
MAX_ATTRIBUTE_LENGTH = 2000
# Characters that count twice towards the 2000-character limit of an AttributeValue.
DOUBLE_WIDTH = frozenset("_ ,\n")


def _attribute_getters() -> dict[str, Any]:
    return {
        "EventId": lambda e: [e.event_id],
        "EventName": lambda e: [e.event_name],
        "ReadOnly": lambda e: [e.read_only],
        "Username": lambda e: [e.username],
        "ResourceType": lambda e: [r["ResourceType"] for r in e.resources],
        "ResourceName": lambda e: [r["ResourceName"] for r in e.resources],
        "EventSource": lambda e: [e.event_source],
        "AccessKeyId": lambda e: [e.access_key_id],
    }


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _attribute(params: dict[str, Any]) -> tuple[str, str] | None:
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise ApiError(
            "InvalidLookupAttributesException",
            "You can only specify one lookup attribute per request.",
        )
    if not attributes:
        return None
    key, value = attributes[0]["AttributeKey"], attributes[0]["AttributeValue"]
    if key not in _attribute_getters():
        raise ApiError("InvalidLookupAttributesException", f"Lookup attribute key {key!r} is not supported.")
    if sum(2 if char in DOUBLE_WIDTH else 1 for char in value) > MAX_ATTRIBUTE_LENGTH or not value:
        raise ApiError(
            "InvalidLookupAttributesException",
            f"The value of lookup attribute {key} must be 1 to {MAX_ATTRIBUTE_LENGTH} characters.",
        )
    if key == "ReadOnly" and value not in ("true", "false"):
        raise ApiError("InvalidLookupAttributesException", "ReadOnly must be 'true' or 'false'.")
    return key, value


def _scope(params: dict[str, Any]) -> str:
    """A token is valid only for the parameters it was issued with (all but MaxResults and NextToken)."""
    bound = {
        key: params.get(key)
        for key in ("LookupAttributes", "StartTime", "EndTime", "EventCategory")
    }
    digest = hashlib.sha256(json.dumps(bound, default=str, sort_keys=True).encode()).hexdigest()[:16]
    return f"cloudtrail:LookupEvents:{digest}"


def _order_key(event: TrailEvent) -> tuple[float, int]:
    # Newest first: ascending on the negated time, then on the negated recording order.
    return (-event.event_time, -event.sequence)


def _after(params: dict[str, Any], scope: str) -> tuple[float, int] | None:
    token = params.get("NextToken")
    if token is None:
        return None
    try:
        key = decode_token(token, scope)
    except ApiError:
        raise ApiError(
            "InvalidNextTokenException",
            "The NextToken is invalid or was issued for a request with different parameters.",
        ) from None
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(k, int | float) for k in key)):
        raise ApiError("InvalidNextTokenException", "The NextToken is invalid.")
    return float(key[0]), int(key[1])


def _event_output(event: TrailEvent) -> dict[str, Any]:
    return {
        "EventId": event.event_id,
        "EventName": event.event_name,
        "ReadOnly": event.read_only,
        "AccessKeyId": event.access_key_id,
        "EventTime": datetime.fromtimestamp(event.event_time, tz=UTC),
        "EventSource": event.event_source,
        "Username": event.username,
        "Resources": [dict(resource) for resource in event.resources],
        "CloudTrailEvent": event.cloud_trail_event,
    }


@operation(CLOUDTRAIL, "LookupEvents")
def lookup_events(call: Call) -> dict[str, Any]:
    params = call.params
    attribute = _attribute(params)
    start, end = _seconds(params.get("StartTime")), _seconds(params.get("EndTime"))
    if start is not None and end is not None and start > end:
        raise ApiError("InvalidTimeRangeException", "Start time must be before or equal to end time.")
    size = int(params.get("MaxResults") or DEFAULT_MAX_RESULTS)
    scope = _scope(params)
    after = _after(params, scope)
    if params.get("EventCategory") == "insight":
        return {"Events": []}  # the sandbox records no Insights events
    now = call.now()
    horizon = now - RETENTION_SECONDS
    getter = _attribute_getters()[attribute[0]] if attribute else None
    visible = sorted(
        (
            event
            for event in call.state.trail_events
            if event.delivered_at <= now
            and event.event_time >= horizon
            and (start is None or event.event_time >= start)
            and (end is None or event.event_time <= end)
            and (getter is None or attribute is None or attribute[1] in getter(event))
        ),
        key=_order_key,
    )
    if after is not None:
        visible = [event for event in visible if _order_key(event) > after]
    page = visible[:size]
    result: dict[str, Any] = {"Events": [_event_output(event) for event in page]}
    if len(visible) > size:
        last = _order_key(page[-1])
        result["NextToken"] = encode_token(scope, [last[0], last[1]])
    return result
