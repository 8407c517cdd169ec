"""Phone numbers' section of the drift feed (reconciler/drift_feed/mapping.py): writes to numbers,
pools and sender IDs (and their tags: pool Name tags, crash markers) re-read the whole area."""

from __future__ import annotations

from reconciler.drift_feed.events import FeedEvent
from reconciler.drift_feed.mapping import AREA, Touch, tagged

NAME = "phone_numbers"
EVENTS = frozenset({
    "UpdatePhoneNumber", "RequestPhoneNumber", "ReleasePhoneNumber", "CreatePool", "UpdatePool", "DeletePool",
    "AssociateOriginationIdentity", "DisassociateOriginationIdentity", "RequestSenderId", "ReleaseSenderId",
    "UpdateSenderId",
})
TAGGED = frozenset({("sms-voice", "phone-number"), ("sms-voice", "pool"), ("sms-voice", "sender-id")})


def touches(event: FeedEvent) -> list[Touch] | None:
    tags = tagged(event)
    if event.name in EVENTS or (tags is not None and tags[:2] in TAGGED):
        return [Touch(NAME, AREA)]
    return None
