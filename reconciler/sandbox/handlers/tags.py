"""TagResource, UntagResource, ListTagsForResource for every sms-voice ARN the sandbox knows.

Tags live in the owning account's ``RegionState.tags`` keyed by ARN. Limits (AWS's tagging rules):
at most 50 tags per resource (``ServiceQuotaExceededException`` reason ``TAGS_PER_RESOURCE``),
keys 1-128 and values 0-256 characters (checked by the wire validator), no ``aws:`` key prefix,
no key twice in one request. Only the owner can tag: a consumer of a shared resource gets
``ResourceNotFoundException`` (the AWS-managed RAM permission grants use, not tagging).
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import ids
from reconciler.sandbox.errors import ApiError, not_found, validation_error
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import resolve_arn
from reconciler.sandbox.state import RegionState

MAX_TAGS_PER_RESOURCE = 50


def _check_keys(keys: list[str], field: str) -> None:
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key.lower().startswith("aws:"):
            raise validation_error(
                f"Tag keys starting with 'aws:' are reserved: {key}",
                "INVALID_PARAMETER",
                [{"Name": f"{field}[{index}]", "Message": "The aws: prefix is reserved for AWS use."}],
            )
        if key in seen:
            raise validation_error(
                f"Duplicate tag key: {key}",
                "INVALID_PARAMETER",
                [{"Name": f"{field}[{index}]", "Message": "Each tag key may appear once per request."}],
            )
        seen.add(key)


def merged_tags(state: RegionState, resource_arn: str, tags: list[dict[str, str]] | None) -> dict[str, str]:
    """The resource's tags after adding ``tags``; raises before anything changes if that breaks a limit."""
    current = dict(state.tags.get(resource_arn, {}))
    if not tags:
        return current
    _check_keys([t["Key"] for t in tags], "Tags")
    for tag in tags:
        current[tag["Key"]] = tag.get("Value", "")
    if len(current) > MAX_TAGS_PER_RESOURCE:
        raise ApiError(
            "ServiceQuotaExceededException",
            f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags.",
            Reason="TAGS_PER_RESOURCE",
        )
    return current


def validate_new_tags(tags: list[dict[str, str]] | None) -> None:
    """Check a Create/Request call's ``Tags`` before the resource is created."""
    merged_tags(RegionState(account="", region=""), "", tags)


def store_tags(state: RegionState, resource_arn: str, tags: list[dict[str, str]] | None) -> None:
    merged = merged_tags(state, resource_arn, tags)
    if merged:
        state.tags[resource_arn] = merged


def tag_list(state: RegionState, resource_arn: str) -> list[dict[str, str]]:
    """Tags as the API returns them, sorted by key for stable output."""
    return [{"Key": k, "Value": v} for k, v in sorted(state.tags.get(resource_arn, {}).items())]


def drop_tags(state: RegionState, resource_arn: str) -> None:
    state.tags.pop(resource_arn, None)


def _owned(call: Call) -> tuple[RegionState, str]:
    resource_arn = call.params["ResourceArn"]
    parsed = ids.parse_arn(resource_arn)
    if parsed is None:
        raise validation_error(
            f"{resource_arn} is not the ARN of an End User Messaging SMS resource.",
            "INVALID_ARN",
            [{"Name": "ResourceArn", "Message": "Expected arn:aws:sms-voice:REGION:ACCOUNT:TYPE/ID."}],
        )
    found = resolve_arn(call.world, resource_arn)
    if found is None or found[0].account != call.account or found[0].region != call.region:
        raise not_found(parsed.resource_type, resource_arn)
    return found[0], resource_arn


@operation(SMS_VOICE, "TagResource")
def tag_resource(call: Call) -> dict[str, Any]:
    state, resource_arn = _owned(call)
    state.tags[resource_arn] = merged_tags(state, resource_arn, call.params["Tags"])
    return {}


@operation(SMS_VOICE, "UntagResource")
def untag_resource(call: Call) -> dict[str, Any]:
    state, resource_arn = _owned(call)
    keys = list(call.params["TagKeys"])
    current = state.tags.get(resource_arn, {})
    for key in keys:
        current.pop(key, None)  # removing an absent key is not an error, as with other AWS services
    if not current:
        state.tags.pop(resource_arn, None)
    return {}


@operation(SMS_VOICE, "ListTagsForResource")
def list_tags_for_resource(call: Call) -> dict[str, Any]:
    state, resource_arn = _owned(call)
    return {"ResourceArn": resource_arn, "Tags": tag_list(state, resource_arn)}
