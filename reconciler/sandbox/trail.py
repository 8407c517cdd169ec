"""The CloudTrail event history: every management write the sandbox serves, per account and Region.

:func:`record` is called by the gateway after a sms-voice or RAM operation succeeds; read
operations (``Describe*``, ``List*``, ``Get*``) are not recorded, since the event history keeps
write management events only here (see docs/sandbox-operations.md, *LookupEvents*). The send
operations are CloudTrail *data* events, which the event history never holds.

Each event becomes visible to ``LookupEvents`` only once it is *delivered*:
``World.settings["cloudtrail.delivery_delay"]`` seconds after it happened (default 300, AWS's
"average of about 5 minutes"), plus up to ``cloudtrail.delivery_jitter`` seconds more, drawn per
event from its id, so a later event can be delivered before an earlier one (out-of-order delivery).
Events older than the 90-day retention are dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from base64 import b64encode
from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.registry import RAM, SMS_VOICE, Call
from reconciler.sandbox.state import RegionState, TrailEvent

EVENT_SOURCES = {SMS_VOICE: "sms-voice.amazonaws.com", RAM: "ram.amazonaws.com"}
READ_PREFIXES = ("Describe", "List", "Get")
# Sends are CloudTrail data events (resource types AWS::SMSVoice::Message / OriginationID), not
# management events, so the event history does not hold them.
DATA_EVENTS = frozenset({"SendTextMessage", "SendVoiceMessage", "SendMediaMessage", "SendDestinationNumberVerificationCode"})

RETENTION_SECONDS = 90 * 24 * 3600
DEFAULT_DELIVERY_DELAY = 300.0
DELAY_SETTING = "cloudtrail.delivery_delay"
JITTER_SETTING = "cloudtrail.delivery_jitter"

# ARN resource prefix -> the resource type the event names.
_RESOURCE_TYPES = {
    ("sms-voice", "phone-number"): "AWS::SMSVoice::PhoneNumber",
    ("sms-voice", "sender-id"): "AWS::SMSVoice::SenderId",
    ("sms-voice", "pool"): "AWS::SMSVoice::Pool",
    ("sms-voice", "opt-out-list"): "AWS::SMSVoice::OptOutList",
    ("sms-voice", "configuration-set"): "AWS::SMSVoice::ConfigurationSet",
    ("sms-voice", "protect-configuration"): "AWS::SMSVoice::ProtectConfiguration",
    ("ram", "resource-share"): "AWS::RAM::ResourceShare",
    ("ram", "resource-share-invitation"): "AWS::RAM::ResourceShareInvitation",
    ("ram", "permission"): "AWS::RAM::Permission",
}
_ARN = re.compile(r"^arn:aws[a-z-]*:(?P<service>[a-z-]+):[a-z0-9-]*:\d{0,12}:(?P<kind>[a-z-]+)/.+$")


def is_recorded(service: str, operation: str) -> bool:
    """Whether a successful call of ``operation`` is a management write the history records."""
    return (
        service in EVENT_SOURCES
        and not operation.startswith(READ_PREFIXES)
        and operation not in DATA_EVENTS
    )


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:] if name[:1].isupper() else name


def _json_value(value: Any) -> Any:
    """botocore-shaped Python -> the JSON CloudTrail records (lowerCamelCase members, ISO times)."""
    if isinstance(value, dict):
        return {_camel(str(key)): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return b64encode(value).decode()
    return value


def _arns(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if _ARN.match(value) else []
    if isinstance(value, dict):
        return [arn for item in value.values() for arn in _arns(item)]
    if isinstance(value, list | tuple):
        return [arn for item in value for arn in _arns(item)]
    return []


def resources_of(params: dict[str, Any], result: dict[str, Any]) -> list[dict[str, str]]:
    """The resources an event names: every known ARN in the request and the response, once each."""
    found: list[dict[str, str]] = []
    seen: set[str] = set()
    for arn in _arns(params) + _arns(result):
        match = _ARN.match(arn)
        kind = _RESOURCE_TYPES.get((match["service"], match["kind"])) if match else None
        if kind is not None and arn not in seen:
            seen.add(arn)
            found.append({"ResourceType": kind, "ResourceName": arn})
    return found


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user_identity(call: Call) -> tuple[dict[str, Any], str]:
    """CloudTrail's ``userIdentity`` and the event history's ``Username`` for the caller."""
    arn = str(call.extra.get("principal_arn") or f"arn:aws:iam::{call.account}:user/sandbox")
    key = str(call.extra.get("access_key_id") or "")
    session = call.world.credentials.get(key)
    if session is not None:
        username = str(session["session_name"])
        identity = {
            "type": "AssumedRole",
            "principalId": f"{session['role_id']}:{username}",
            "arn": arn,
            "accountId": call.account,
            "accessKeyId": key,
        }
        return identity, username
    username = arn.rsplit("/", 1)[-1]
    identity = {
        "type": "IAMUser",
        "principalId": key or "AIDASANDBOX",
        "arn": arn,
        "accountId": call.account,
        "accessKeyId": key,
        "userName": username,
    }
    return identity, username


def delivery_delay(call: Call, event_id: str) -> float:
    """Seconds from the event to its delivery: the configured delay plus this event's share of the jitter."""
    settings = call.world.settings
    delay = float(settings.get(DELAY_SETTING, DEFAULT_DELIVERY_DELAY))
    jitter = float(settings.get(JITTER_SETTING, 0.0))
    fraction = int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return max(0.0, delay + jitter * fraction)


def prune(state: RegionState, now: float) -> None:
    """Drop events past the 90-day retention (the history is in recording order)."""
    horizon = now - RETENTION_SECONDS
    events = state.trail_events
    if events and events[0].event_time < horizon:
        state.trail_events = [event for event in events if event.event_time >= horizon]


def record(call: Call, result: dict[str, Any]) -> TrailEvent | None:
    """Add the event of one successful call to its account's and Region's history."""
    if not is_recorded(call.service, call.operation):
        return None
    now = call.now()
    event_id = str(uuid.uuid4())
    identity, username = _user_identity(call)
    source = EVENT_SOURCES[call.service]
    resources = resources_of(call.params, result)
    document = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": _iso(now),
        "eventSource": source,
        "eventName": call.operation,
        "awsRegion": call.region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "sandbox",
        "requestParameters": _json_value(call.params) or None,
        "responseElements": _json_value({k: v for k, v in result.items() if k != "ResponseMetadata"}) or None,
        "requestID": call.request_id,
        "eventID": event_id,
        "readOnly": False,
        "resources": [
            {"accountId": call.account, "type": item["ResourceType"], "ARN": item["ResourceName"]}
            for item in resources
        ],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": call.account,
        "eventCategory": "Management",
    }
    event = TrailEvent(
        event_id=event_id,
        event_name=call.operation,
        event_source=source,
        event_time=now,
        delivered_at=now + delivery_delay(call, event_id),
        read_only="false",
        username=username,
        access_key_id=str(identity["accessKeyId"]),
        resources=resources,
        cloud_trail_event=json.dumps(document, separators=(",", ":")),
    )
    state = call.state
    event.sequence = state.trail_events[-1].sequence + 1 if state.trail_events else 1
    prune(state, now)
    state.trail_events.append(event)
    return event
