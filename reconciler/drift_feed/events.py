"""The CloudTrail change feed: management write events of one account and Region since a time.

``LookupEvents`` (CloudTrail API Reference): event history of the last 90 days, newest first, at
most 50 events a page, 2 requests per second per account and Region, one lookup attribute per
request. The feed asks for ``ReadOnly=false`` (writes only) between ``StartTime`` and now, and
keeps the sms-voice and RAM events: other services' writes change nothing the policy reads.

Events carry personal data: ``requestParameters`` of ``PutOptedOutNumber`` holds the phone
number. Parsed events stay in memory; what is logged or reported is the event name, its time
and masked parameters only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.areas.base import ApiOperation
from reconciler.aws import Api

CLOUDTRAIL = "cloudtrail"
LOOKUP_EVENTS = "LookupEvents"
PAGE_SIZE = 50  # LookupEvents MaxResults maximum
RATE = 2.0  # LookupEvents requests per second per account and Region (AWS's limit)
RETENTION_SECONDS = 90 * 24 * 3600  # the event history keeps 90 days
SOURCES = {"sms-voice.amazonaws.com": "sms-voice", "ram.amazonaws.com": "ram"}

OPERATIONS: tuple[ApiOperation, ...] = (
    ApiOperation(CLOUDTRAIL, LOOKUP_EVENTS, "cloudtrail:LookupEvents", RATE, "read"),
)


@dataclass(frozen=True)
class FeedEvent:
    """One write as CloudTrail recorded it (``params``: its requestParameters, memory only)."""

    event_id: str
    name: str  # API operation, e.g. "PutOptedOutNumber"
    service: str  # "sms-voice" | "ram"
    time: float  # unix seconds
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    resources: tuple[str, ...] = ()  # ARNs the event names


@dataclass
class FeedRead:
    events: list[FeedEvent]
    pages: int
    start: float


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _parse(item: dict[str, Any]) -> FeedEvent | None:
    source = str(item.get("EventSource", ""))
    if source not in SOURCES:
        return None
    try:
        document = json.loads(item.get("CloudTrailEvent") or "{}")
    except ValueError:
        document = {}
    params = document.get("requestParameters") or {}
    resources = tuple(str(r["ResourceName"]) for r in item.get("Resources") or [] if r.get("ResourceName"))
    return FeedEvent(
        event_id=str(item.get("EventId", "")),
        name=str(item.get("EventName", "")),
        service=SOURCES[source],
        time=_seconds(item["EventTime"]),
        params=params if isinstance(params, dict) else {},
        resources=resources,
    )


def pages(api: Api, start: float) -> Iterator[dict[str, Any]]:
    return api.pages(
        CLOUDTRAIL, LOOKUP_EVENTS,
        LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
        StartTime=datetime.fromtimestamp(start, tz=UTC),
        MaxResults=PAGE_SIZE,
    )


def read_feed(api: Api, start: float) -> FeedRead:
    """Every delivered write event since ``start`` (oldest first), de-duplicated by event id."""
    seen: dict[str, FeedEvent] = {}
    count = 0
    for page in pages(api, start):
        count += 1
        for item in page.get("Events", []):
            event = _parse(item)
            if event is not None:
                seen.setdefault(event.event_id, event)
    ordered = sorted(seen.values(), key=lambda e: (e.time, e.event_id))
    return FeedRead(ordered, count, start)


__all__ = ["OPERATIONS", "RETENTION_SECONDS", "FeedEvent", "FeedRead", "read_feed"]
