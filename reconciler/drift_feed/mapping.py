"""What each CloudTrail write may have changed, as the areas read it: event -> :class:`Touch`es.

One section per area (the area refactor moves each into its package). A section maps the event
names it knows to the live state to read again; :data:`NO_EFFECT` lists writes that change
nothing any area reads (registrations, keywords, spend limits, sends…). An event no section knows
and NO_EFFECT does not list is *unknown*: :func:`touches` returns ``None`` and the drift falls back
to a full read (fail closed), so a new sms-voice or RAM write can never be silently ignored.

Granularity: an opted-out number written or deleted is one list entry (looked up five at a time);
a list created, deleted or re-tagged is that list; everything else re-reads its whole area, which
costs that area's normal read (protect ~150 calls, phone numbers and shares a few dozen).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.drift_feed.events import FeedEvent

OPT_OUTS, PROTECT, PHONE_NUMBERS, SHARES = "opt_outs", "protect", "phone_numbers", "shares"
AREA = "area"  # re-read the whole area
LIST = "list"  # re-read one opt-out list (created, deleted, or read another way)
LIST_TAGS = "list-tags"  # one opt-out list's tags (the watermark)
ENTRY = "entry"  # one opted-out number of one list


@dataclass(frozen=True)
class Touch:
    area: str
    kind: str
    list_name: str = ""
    number: str = ""  # raw: memory only, never logged


_ARN_KIND = re.compile(r"^arn:aws[a-z-]*:(?P<service>[a-z-]+):[a-z0-9-]*:\d{0,12}:(?P<kind>[a-z-]+)/(?P<id>.+)$")


def _list_name(value: object) -> str:
    """OptOutListName accepts a name or an ARN; lists are keyed by name."""
    text = str(value or "")
    match = _ARN_KIND.match(text)
    return match["id"] if match and match["kind"] == "opt-out-list" else text


# Opt-out lists ---------------------------------------------------------------------------------


def _opt_outs(event: FeedEvent) -> list[Touch] | None:
    params = event.params
    if event.name in ("PutOptedOutNumber", "DeleteOptedOutNumber"):
        return [Touch(OPT_OUTS, ENTRY, _list_name(params.get("optOutListName")), str(params.get("optedOutNumber", "")))]
    if event.name in ("CreateOptOutList", "DeleteOptOutList"):
        # Shares resolve list names to ARNs from the same listing.
        return [Touch(OPT_OUTS, LIST, _list_name(params.get("optOutListName"))), Touch(SHARES, AREA)]
    return None


# Protect configurations ------------------------------------------------------------------------

PROTECT_EVENTS = frozenset({
    "CreateProtectConfiguration", "UpdateProtectConfiguration", "DeleteProtectConfiguration",
    "UpdateProtectConfigurationCountryRuleSet", "SetAccountDefaultProtectConfiguration",
    "DeleteAccountDefaultProtectConfiguration", "AssociateProtectConfiguration",
    "DisassociateProtectConfiguration", "PutProtectConfigurationRuleSetNumberOverride",
    "DeleteProtectConfigurationRuleSetNumberOverride",
    # protect reads which configuration set uses which configuration
    "CreateConfigurationSet", "DeleteConfigurationSet",
})


def _protect(event: FeedEvent) -> list[Touch] | None:
    return [Touch(PROTECT, AREA)] if event.name in PROTECT_EVENTS else None


# Phone numbers, pools, sender IDs --------------------------------------------------------------

IDENTITY_EVENTS = frozenset({
    "UpdatePhoneNumber", "RequestPhoneNumber", "ReleasePhoneNumber", "CreatePool", "UpdatePool", "DeletePool",
    "AssociateOriginationIdentity", "DisassociateOriginationIdentity", "RequestSenderId", "ReleaseSenderId",
    "UpdateSenderId",
})


def _phone_numbers(event: FeedEvent) -> list[Touch] | None:
    # Shares resolve their resources (numbers, pools, sender IDs) from the same listings.
    return [Touch(PHONE_NUMBERS, AREA), Touch(SHARES, AREA)] if event.name in IDENTITY_EVENTS else None


# Shares ----------------------------------------------------------------------------------------


def _shares(event: FeedEvent) -> list[Touch] | None:
    if event.service == "ram" and event.name not in ("TagResource", "UntagResource"):
        return [Touch(SHARES, AREA)]
    if event.name in ("PutResourcePolicy", "DeleteResourcePolicy"):  # sharing without RAM, or RAM's own
        return [Touch(SHARES, AREA)]
    return None


# Tags: by the kind of resource tagged ------------------------------------------------------------

TAGGED: dict[tuple[str, str], Callable[[str], list[Touch]]] = {
    ("sms-voice", "opt-out-list"): lambda arn: [Touch(OPT_OUTS, LIST_TAGS, _list_name(arn))],
    ("sms-voice", "protect-configuration"): lambda arn: [Touch(PROTECT, AREA)],  # the Name tag
    ("sms-voice", "phone-number"): lambda arn: [Touch(PHONE_NUMBERS, AREA), Touch(SHARES, AREA)],
    ("sms-voice", "pool"): lambda arn: [Touch(PHONE_NUMBERS, AREA), Touch(SHARES, AREA)],  # Name tag, crash marker
    ("sms-voice", "sender-id"): lambda arn: [Touch(PHONE_NUMBERS, AREA), Touch(SHARES, AREA)],
    ("ram", "resource-share"): lambda arn: [Touch(SHARES, AREA)],
}
# Tagged resources no area reads the tags of.
UNREAD_TAGS = frozenset({
    ("sms-voice", "configuration-set"), ("sms-voice", "registration"), ("sms-voice", "registration-attachment"),
    ("sms-voice", "verified-destination-number"), ("sms-voice", "rcs-agent"), ("sms-voice", "keyword"),
    ("ram", "permission"),
})


def _tags(event: FeedEvent) -> list[Touch] | None:
    if event.name not in ("TagResource", "UntagResource"):
        return None
    arn = str(event.params.get("resourceArn") or event.params.get("resourceShareArn") or "")
    match = _ARN_KIND.match(arn)
    if match is None:
        return None
    key = (match["service"], match["kind"])
    if key in TAGGED:
        return TAGGED[key](arn)
    return [] if key in UNREAD_TAGS else None


# Writes no area reads the result of ----------------------------------------------------------------

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

SECTIONS: tuple[Callable[[FeedEvent], list[Touch] | None], ...] = (_opt_outs, _protect, _phone_numbers, _shares, _tags)


def touches(event: FeedEvent) -> list[Touch] | None:
    """What ``event`` may have changed; ``[]`` for nothing any area reads; ``None`` if unknown."""
    for section in SECTIONS:
        found = section(event)
        if found is not None:
            return found
    if event.service == "sms-voice" and event.name in NO_EFFECT:
        return []
    return None


__all__ = ["AREA", "ENTRY", "LIST", "LIST_TAGS", "NO_EFFECT", "Touch", "touches"]
