"""Resource policies' section of the drift feed (reconciler/drift_feed/mapping.py).

The area reads the policy of every shareable resource and RAM's policy-made shares, so a policy
written or deleted, a share promoted or changed, and a shareable resource requested, released or
created (a new resource to read) re-read the whole area. Without this section a grant made out of
git would be claimed by the shares section alone and an incremental drift would keep this area's
baseline: the grant would go unseen until the next full read.
"""

from __future__ import annotations

from reconciler.drift_feed.events import FeedEvent
from reconciler.drift_feed.mapping import AREA, Touch

NAME = "resource_policies"
WRITES = frozenset({
    "PutResourcePolicy", "DeleteResourcePolicy",
    # the shareable resources themselves: one more or one fewer policy to read
    "RequestPhoneNumber", "ReleasePhoneNumber", "RequestSenderId", "ReleaseSenderId",
    "CreatePool", "DeletePool", "CreateOptOutList", "DeleteOptOutList",
})


def touches(event: FeedEvent) -> list[Touch] | None:
    if event.service == "ram" or event.name in WRITES:
        return [Touch(NAME, AREA)]
    return None
