"""Protect's section of the drift feed (reconciler/drift_feed/mapping.py): the CloudTrail writes
that change what protect reads, which re-read the whole area."""

from __future__ import annotations

from reconciler.drift_feed.events import FeedEvent
from reconciler.drift_feed.mapping import AREA, Touch, tagged

NAME = "protect"
EVENTS = frozenset({
    "CreateProtectConfiguration", "UpdateProtectConfiguration", "DeleteProtectConfiguration",
    "UpdateProtectConfigurationCountryRuleSet", "SetAccountDefaultProtectConfiguration",
    "DeleteAccountDefaultProtectConfiguration", "AssociateProtectConfiguration",
    "DisassociateProtectConfiguration", "PutProtectConfigurationRuleSetNumberOverride",
    "DeleteProtectConfigurationRuleSetNumberOverride",
    # protect reads which configuration set uses which configuration
    "CreateConfigurationSet", "DeleteConfigurationSet",
})


def touches(event: FeedEvent) -> list[Touch] | None:
    if event.name in EVENTS:
        return [Touch(NAME, AREA)]
    tags = tagged(event)
    if tags is not None and tags[:2] == ("sms-voice", "protect-configuration"):  # the Name tag
        return [Touch(NAME, AREA)]
    return None
