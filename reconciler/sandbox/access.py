"""Cross-account authorisation of sms-voice requests, as IAM evaluates it before the service runs.

A resource of another account can be reached only through a RAM share, and the AWS managed
permissions the sandbox knows (one per resource type; ``AWSRAMDefaultPermissionSmsVoice`` "allows
consumers to use the resources for sending messages but not for deleting or modifying them", AWS's
resource-sharing guide) grant use, not management. So a
request that names another account's sms-voice ARN in an operation outside :data:`CONSUMER_ACTIONS`
is refused with ``AccessDeniedException``, IAM's message and no ``Reason`` (the model's reasons,
``ACCOUNT_DISABLED`` and ``INSUFFICIENT_ACCOUNT_REPUTATION``, describe account standing, not IAM).

Assumption (AWS does not list the permission's actions): consumers may send, describe and list
shared resources, and record or remove opt-outs in a shared opt-out list (the recipients' STOP
replies land there). Within those operations the handlers decide: a foreign ARN that is not
shared with the caller is ``ResourceNotFoundException`` there, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.ids import parse_arn
from reconciler.sandbox.registry import SMS_VOICE, Call

CONSUMER_ACTIONS = frozenset(
    {
        "DeleteOptedOutNumber",
        "DescribeOptOutLists",
        "DescribeOptedOutNumbers",
        "DescribePhoneNumbers",
        "DescribePools",
        "DescribeSenderIds",
        "ListPoolOriginationIdentities",
        "PutOptedOutNumber",
        "SendMediaMessage",
        "SendTextMessage",
        "SendVoiceMessage",
    }
)
_ARN_PREFIX = "arn:aws:sms-voice:"


def _arns(params: dict[str, Any]) -> Iterator[str]:
    for value in params.values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, str) and item.startswith(_ARN_PREFIX):
                yield item


def check_cross_account(call: Call) -> None:
    """Refuse an sms-voice operation a RAM consumer may not perform on another account's ARN."""
    if call.service != SMS_VOICE or call.operation in CONSUMER_ACTIONS:
        return
    for value in _arns(call.params):
        parsed = parse_arn(value)
        if parsed is not None and parsed.account != call.account:
            principal = str(call.extra.get("principal_arn") or f"arn:aws:iam::{call.account}:user/sandbox")
            action = f"sms-voice:{call.operation}"
            raise ApiError(
                "AccessDeniedException",
                f"User: {principal} is not authorized to perform: {action} on resource: {value} "
                f"because no resource-based policy allows the {action} action",
            )
