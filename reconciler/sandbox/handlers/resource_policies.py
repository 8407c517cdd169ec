"""PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy on phone numbers, sender IDs, pools
and opt-out lists, with RAM's linkage: a policy makes a ``CREATED_FROM_POLICY`` resource share
whose principals are the policy's, which RAM refuses to change until it is promoted.

Sources and assumptions: docs/sandbox-operations.md, *Resource policies*. The grammar is
:mod:`reconciler.sandbox.resource_policy`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox import resource_policy, sharing
from reconciler.sandbox.errors import not_found, validation_error
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.state import RegionState, ResourcePolicy, ShareAssociation

POLICY = "policy"  # the model's ResourceType for "this resource has no policy"
_TYPE_NAMES = {v: k for k, v in sharing.ARN_PREFIX_TO_TYPE.items()}  # RAM type -> ARN prefix / ResourceType


def _resource(call: Call) -> tuple[RegionState, str, str]:
    """The caller's own shareable resource named by ``ResourceArn``: (state, ARN, RAM type)."""
    arn = call.params["ResourceArn"]
    parsed = sharing.parse_sms_arn(arn)
    if parsed is None:
        raise validation_error(
            f"{arn} is not the ARN of a phone number, sender ID, pool or opt-out list.",
            "INVALID_ARN",
            [{"Name": "ResourceArn", "Message": "Not a shareable sms-voice resource ARN."}],
        )
    region, account, kind, _ = parsed
    hit = sharing.find_resource(call.world, arn)
    # Only the owner attaches a policy ("You cannot share ... a resource that has been shared with you").
    if hit is None or account != call.account or region != call.region:
        raise not_found(_TYPE_NAMES[kind], arn)
    return hit[0], arn, kind


def _view(policy: ResourcePolicy) -> dict[str, Any]:
    return {
        "ResourceArn": policy.resource_arn,
        "Policy": policy.document,
        "CreatedTimestamp": datetime.fromtimestamp(policy.created, tz=UTC),
    }


def _sync_share(call: Call, state: RegionState, policy: ResourcePolicy, principals: list[str]) -> None:
    """Make the linked CREATED_FROM_POLICY share hold exactly ``principals`` (new share if none)."""
    now = call.now()
    share = state.resource_shares.get(policy.share_arn) if policy.share_arn else None
    if share is None or share.status != "ACTIVE" or share.feature_set != "CREATED_FROM_POLICY":
        share = sharing.create_share_from_policy(call.world, state.account, state.region, policy.resource_arn,
                                                 principals, now, record_policy=False)
        policy.share_arn = share.arn
        return
    wanted = set(principals)
    for association in share.associations:
        if association.association_type != "PRINCIPAL":
            continue
        live = association.status in ("ASSOCIATED", "ASSOCIATING")
        if live and association.entity not in wanted:
            association.status, association.updated = "DISASSOCIATED", now
        elif not live and association.entity in wanted:
            association.status, association.updated = "ASSOCIATED", now
    have = {a.entity for a in share.associations if a.association_type == "PRINCIPAL"}
    for principal in sorted(wanted - have):
        external = principal.isdigit() and not sharing.same_organization(call.world, state.account, principal)
        share.associations.append(ShareAssociation("PRINCIPAL", principal, "ASSOCIATED", now, now, external))
    share.updated = now


@operation(SMS_VOICE, "PutResourcePolicy")
def put_resource_policy(call: Call) -> dict[str, Any]:
    state, arn, _ = _resource(call)
    text = call.params["Policy"]
    try:
        statements = resource_policy.parse(text, arn, call.account)
    except resource_policy.PolicyError as error:
        reason = "CANNOT_PARSE" if "not valid JSON" in str(error) else "INVALID_PARAMETER"
        raise validation_error(f"Invalid policy: {error}.", reason, [{"Name": "Policy", "Message": str(error)}]) from None
    existing = state.resource_policies.get(arn)
    policy = ResourcePolicy(arn, text, existing.created if existing else call.now(),
                            existing.share_arn if existing else "")
    state.resource_policies[arn] = policy
    _sync_share(call, state, policy, resource_policy.principals(statements))
    return _view(policy)


@operation(SMS_VOICE, "GetResourcePolicy")
def get_resource_policy(call: Call) -> dict[str, Any]:
    state, arn, _ = _resource(call)
    policy = state.resource_policies.get(arn)
    if policy is None:
        raise not_found(POLICY, arn)
    return _view(policy)


@operation(SMS_VOICE, "DeleteResourcePolicy")
def delete_resource_policy(call: Call) -> dict[str, Any]:
    state, arn, _ = _resource(call)
    policy = state.resource_policies.pop(arn, None)
    if policy is None:
        raise not_found(POLICY, arn)
    share = state.resource_shares.get(policy.share_arn) if policy.share_arn else None
    if share is not None and share.feature_set == "CREATED_FROM_POLICY":
        # The share exists because of the policy: it goes with it, and with it every grant.
        now = call.now()
        share.status, share.updated = "DELETED", now
        for association in share.associations:
            if association.status in ("ASSOCIATED", "ASSOCIATING"):
                association.status, association.updated = "DISASSOCIATED", now
    return _view(policy)

