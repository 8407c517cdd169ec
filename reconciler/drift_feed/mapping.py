"""What each CloudTrail write may have changed, as the areas read it: event -> :class:`Touch`es.

Each area says what the events it knows changed, in its package's ``feed`` module
(``reconciler/areas/<area>/feed.py``: ``touches(event)``, returning its touches, or None for an
event it does not know). :data:`NO_EFFECT` lists writes that change nothing any area reads
(registrations, keywords, spend limits, sends…), and :data:`UNREAD_TAGS` the resources whose tags
no area reads. An event no area knows and neither list names is *unknown*: :func:`touches` returns
``None`` and the drift falls back to a full read (fail closed), so a new sms-voice or RAM write can
never be silently ignored.

Granularity (the areas decide): a touch re-reads its whole area, which costs that area's normal
read (protect ~150 calls, phone numbers and shares a few dozen), unless the area refreshes its
baseline itself (:mod:`.refresh`): the opt-out area maps an opted-out number written or deleted to
one list entry (looked up five at a time) and a list created, deleted or re-tagged to that list.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from reconciler.drift_feed.events import FeedEvent

AREA = "area"  # re-read the whole area (the only kind an area without a Refresher may use)


@dataclass(frozen=True)
class Touch:
    """What one event changed in one area: the whole area (:data:`AREA`), or a finer kind the
    area's :class:`~reconciler.drift_feed.refresh.Refresher` defines and reads back itself."""

    area: str
    kind: str
    part: str = ""  # which part of the area, e.g. an opt-out list's name
    item: str = ""  # one item of that part, e.g. an opted-out number (raw: memory only, never logged)


_ARN_KIND = re.compile(r"^arn:aws[a-z-]*:(?P<service>[a-z-]+):[a-z0-9-]*:\d{0,12}:(?P<kind>[a-z-]+)/(?P<id>.+)$")


def arn_parts(arn: str) -> tuple[str, str, str] | None:
    """``(service, resource kind, id)`` of an ARN, e.g. ``("sms-voice", "registration", "registration-…")``."""
    match = _ARN_KIND.match(arn)
    return (match["service"], match["kind"], match["id"]) if match else None


def tagged(event: FeedEvent) -> tuple[str, str, str] | None:
    """The ARN parts of the resource a TagResource/UntagResource event tagged; None otherwise."""
    if event.name not in ("TagResource", "UntagResource"):
        return None
    return arn_parts(str(event.params.get("resourceArn") or event.params.get("resourceShareArn") or ""))


# Tagged resources no area reads the tags of.
UNREAD_TAGS = frozenset({
    ("sms-voice", "configuration-set"), ("sms-voice", "registration"), ("sms-voice", "registration-attachment"),
    ("sms-voice", "verified-destination-number"), ("sms-voice", "rcs-agent"), ("sms-voice", "keyword"),
    ("ram", "permission"),
})

# Writes no area reads the result of.
NO_EFFECT = frozenset({
    "CarrierLookup", "CreateEventDestination", "UpdateEventDestination", "DeleteEventDestination",
    "CreateNotifyConfiguration", "UpdateNotifyConfiguration", "DeleteNotifyConfiguration",
    "CreateRcsAgent", "UpdateRcsAgent", "DeleteRcsAgent",
    "CreateRegistration", "CreateRegistrationAssociation", "CreateRegistrationAttachment",
    "CreateRegistrationVersion", "DeleteRegistration", "DeleteRegistrationAttachment",
    "DeleteRegistrationFieldValue", "DiscardRegistrationVersion", "PutRegistrationFieldValue",
    "SubmitRegistrationVersion",
    "CreateVerifiedDestinationNumber", "DeleteVerifiedDestinationNumber", "VerifyDestinationNumber",
    "SendDestinationNumberVerificationCode", "SendTextMessage", "SendVoiceMessage", "SendMediaMessage",
    "SendNotifyTextMessage", "SendNotifyVoiceMessage", "PutMessageFeedback", "SetDefaultMessageFeedbackEnabled",
    "PutKeyword", "DeleteKeyword", "SetDefaultMessageType", "DeleteDefaultMessageType",
    "SetDefaultSenderId", "DeleteDefaultSenderId",
    "SetTextMessageSpendLimitOverride", "DeleteTextMessageSpendLimitOverride",
    "SetVoiceMessageSpendLimitOverride", "DeleteVoiceMessageSpendLimitOverride",
    "SetMediaMessageSpendLimitOverride", "DeleteMediaMessageSpendLimitOverride",
    "SetNotifyMessageSpendLimitOverride", "DeleteNotifyMessageSpendLimitOverride",
})

Section = Callable[[FeedEvent], "list[Touch] | None"]


@cache
def feed_modules() -> dict[str, ModuleType]:
    """Each registered area's ``feed`` module (``reconciler/areas/<area>/feed.py``), by area name."""
    from reconciler.areas.base import registry

    found: dict[str, ModuleType] = {}
    for name, cls in registry().items():
        package = cls.__module__.rsplit(".", 1)[0]
        try:
            found[name] = importlib.import_module(f"{package}.feed")
        except ModuleNotFoundError:
            continue  # an area without a feed section: every event it might care about is unknown
    return found


def touches(event: FeedEvent) -> list[Touch] | None:
    """What ``event`` may have changed; ``[]`` for nothing any area reads; ``None`` if unknown."""
    found: list[Touch] | None = None
    for module in feed_modules().values():
        mine = module.touches(event)
        if mine is not None:
            found = [*(found or []), *mine]
    if found is not None:
        return found
    tags = tagged(event)
    if tags is not None:
        return [] if (tags[0], tags[1]) in UNREAD_TAGS else None
    if event.service == "sms-voice" and event.name in NO_EFFECT:
        return []
    return None


__all__ = ["AREA", "NO_EFFECT", "Touch", "arn_parts", "feed_modules", "tagged", "touches"]
