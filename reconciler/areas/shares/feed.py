"""Shares' section of the drift feed (reconciler/drift_feed/mapping.py): every RAM write, resource
policies, and the writes that change the listings shares resolve their resources from (numbers,
pools, sender IDs, opt-out lists) re-read the whole area."""

from __future__ import annotations

from reconciler.drift_feed.events import FeedEvent
from reconciler.drift_feed.mapping import AREA, Touch, tagged

NAME = "shares"
RESOLVED_FROM = frozenset({
    "UpdatePhoneNumber", "RequestPhoneNumber", "ReleasePhoneNumber", "CreatePool", "UpdatePool", "DeletePool",
    "AssociateOriginationIdentity", "DisassociateOriginationIdentity", "RequestSenderId", "ReleaseSenderId",
    "UpdateSenderId", "CreateOptOutList", "DeleteOptOutList",
    "PutResourcePolicy", "DeleteResourcePolicy",  # sharing without RAM, or RAM's own
})
TAGGED = frozenset({("sms-voice", "phone-number"), ("sms-voice", "pool"), ("sms-voice", "sender-id"),
                    ("ram", "resource-share")})


def touches(event: FeedEvent) -> list[Touch] | None:
    tags = tagged(event)
    if tags is not None:
        return [Touch(NAME, AREA)] if tags[:2] in TAGGED else None
    if event.service == "ram" or event.name in RESOLVED_FROM:
        return [Touch(NAME, AREA)]
    return None
