"""What a consumer account can see and use through RAM shares of sms-voice resources.

Used by the RAM handlers and by the pinpoint-sms-voice-v2 handlers (``Owner=SHARED`` listings,
``SendTextMessage`` with a shared origination identity). Stable interface:

- :func:`shared_resources` ``(world, consumer_account, region, resource_type)`` →
  ``[(owner RegionState, record), ...]`` sorted by ARN: resources of that type other accounts
  share with the consumer in that region (associations settled to ASSOCIATED).
- :func:`usable_by` ``(world, consumer_account, region, arn)`` → ``bool``: the consumer owns the
  resource in that region, or it is shared with the consumer *and*, for a pool or an opt-out list,
  every member identity is in the same share (the rule AWS documents for shared pools and lists).

Only ASSOCIATED associations count: access starts when an association settles and ends as soon
as a disassociation starts (strictest reading of AWS's asynchronous associations).

Invitations: a principal account outside the owner's organization gets a resource share
invitation; its association stays ASSOCIATING (and grants nothing) until the receiver accepts,
and FAILS when the invitation is rejected or expires (:func:`settle`).

Organization model (``World.organization``): ``{account id: "o-orgid/ou-a/ou-b"}`` — the account's
organization id followed by the OUs it sits in, root first. An empty map means no account is in an
organization, so every principal is external.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from reconciler.sandbox.state import (
    RegionState,
    ResourcePolicy,
    ResourceShare,
    ShareAssociation,
    ShareInvitation,
    World,
)

PHONE_NUMBER = "sms-voice:PhoneNumber"
SENDER_ID = "sms-voice:SenderId"
POOL = "sms-voice:Pool"
OPT_OUT_LIST = "sms-voice:OptOutList"

# ARN resource prefix (``arn:aws:sms-voice:REGION:ACCOUNT:<prefix>/...``) -> RAM resource type.
ARN_PREFIX_TO_TYPE = {
    "phone-number": PHONE_NUMBER,
    "sender-id": SENDER_ID,
    "pool": POOL,
    "opt-out-list": OPT_OUT_LIST,
}
SHAREABLE_TYPES = tuple(sorted(ARN_PREFIX_TO_TYPE.values()))

# One AWS managed permission per resource type ("You can associate only one permission with each
# resource type", CreateResourceShare). AWSRAMDefaultPermissionSmsVoice is the one AWS's resource
# sharing guide for End User Messaging passes when it shares phone numbers; the other three names
# are an *assumption* (see docs/sandbox-operations.md).
PERMISSION_PREFIX = "arn:aws:ram::aws:permission/"
DEFAULT_PERMISSION_NAMES = {
    PHONE_NUMBER: "AWSRAMDefaultPermissionSmsVoice",
    SENDER_ID: "AWSRAMDefaultPermissionSmsVoiceSenderId",
    POOL: "AWSRAMDefaultPermissionSmsVoicePool",
    OPT_OUT_LIST: "AWSRAMDefaultPermissionSmsVoiceOptOutList",
}
DEFAULT_PERMISSIONS = {kind: PERMISSION_PREFIX + name for kind, name in DEFAULT_PERMISSION_NAMES.items()}
PERMISSION_TYPES = {arn: kind for kind, arn in DEFAULT_PERMISSIONS.items()}
# Assumption (AWS documents "seven days" for some resource types and "12 hours" for the others,
# without listing sms-voice): the shorter window.
INVITATION_LIFETIME = 12 * 3600.0

_PENDING_TO_FINAL = {"ASSOCIATING": "ASSOCIATED", "DISASSOCIATING": "DISASSOCIATED"}


def parse_sms_arn(arn: str) -> tuple[str, str, str, str] | None:
    """``(region, account, resource_type, resource_key)`` of an sms-voice ARN, else ``None``.

    ``resource_key`` is the key of the record in its :class:`RegionState` dict (sender IDs are
    keyed ``SENDERID/CC``).
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sms-voice":
        return None
    _, _, _, region, account, resource = parts
    prefix, _, key = resource.partition("/")
    resource_type = ARN_PREFIX_TO_TYPE.get(prefix)
    if resource_type is None or not key or not region or not (len(account) == 12 and account.isdigit()):
        return None
    return region, account, resource_type, key


def _collection(state: RegionState, resource_type: str) -> dict[str, Any]:
    collections: dict[str, dict[str, Any]] = {
        PHONE_NUMBER: state.phone_numbers,
        SENDER_ID: state.sender_ids,
        POOL: state.pools,
        OPT_OUT_LIST: state.opt_out_lists,
    }
    return collections[resource_type]


def find_resource(world: World, arn: str) -> tuple[RegionState, Any] | None:
    """The owner's region state and the record an sms-voice ARN names, if it exists."""
    parsed = parse_sms_arn(arn)
    if parsed is None:
        return None
    region, account, resource_type, key = parsed
    state = world.regions.get((account, region))
    if state is None:
        return None
    record = _collection(state, resource_type).get(key)
    if record is None or getattr(record, "arn", None) != arn:
        return None
    return state, record


def settle(share: ResourceShare, now: float) -> None:
    """Finish pending associations whose delay has elapsed (ASSOCIATING → ASSOCIATED, ...).

    A principal with a PENDING invitation stays ASSOCIATING; an invitation past its lifetime
    expires and its principal's association FAILS.
    """
    for invitation in share.invitations:
        if invitation.status == "PENDING" and invitation.expires_at <= now:
            invitation.status = "EXPIRED"
            end_invitation(share, invitation, invitation.expires_at)
    waiting = {i.receiver_account_id for i in share.invitations if i.status == "PENDING"}
    for association in share.associations:
        if association.association_type == "PRINCIPAL" and association.entity in waiting:
            continue
        final = _PENDING_TO_FINAL.get(association.status)
        if final is not None and association.settles_at <= now:
            association.status = final
            association.updated = association.settles_at


def invite(share: ResourceShare, region: str, receiver: str, now: float) -> ShareInvitation:
    """The PENDING invitation for ``receiver`` (a new one unless one is already pending)."""
    for invitation in share.invitations:
        if invitation.receiver_account_id == receiver and invitation.status == "PENDING":
            return invitation
    arn = f"arn:aws:ram:{region}:{share.owner_account_id}:resource-share-invitation/{uuid.uuid4()}"
    invitation = ShareInvitation(arn, receiver, "PENDING", now, now + INVITATION_LIFETIME)
    share.invitations.append(invitation)
    return invitation


def end_invitation(share: ResourceShare, invitation: ShareInvitation, now: float) -> None:
    """Settle the receiver's association after the invitation was answered or lapsed."""
    for association in share.associations:
        if (association.association_type != "PRINCIPAL" or association.entity != invitation.receiver_account_id
                or association.status != "ASSOCIATING"):
            continue
        association.updated = now
        if invitation.status == "ACCEPTED":
            association.status = "ASSOCIATED"
        else:
            association.status = "FAILED"
            association.status_message = f"The resource share invitation was {invitation.status.lower()}."


def is_service_principal(principal: str) -> bool:
    """A service principal name such as ``sns.amazonaws.com`` (CreateResourceShare's principals)."""
    labels = principal.split(".")
    return (len(labels) >= 3 and principal.endswith(".amazonaws.com")
            and all(label and all(c.isalnum() or c == "-" for c in label) for label in labels))


def create_share_from_policy(world: World, owner: str, region: str, resource_arn: str,
                             principals: list[str], now: float | None = None,
                             permission_promoted: bool = True, record_policy: bool = True) -> ResourceShare:
    """The share RAM creates when a resource policy is attached to ``resource_arn``
    (``featureSet`` CREATED_FROM_POLICY). PutResourcePolicy calls it; the snapshot generator and
    tests call it with ``record_policy`` to attach the policy too (granting every action the
    resource type allows). Its principals are associated at once: the policy grants access."""
    when = world.clock.now() if now is None else now
    state = world.region(owner, region)
    arn = f"arn:aws:ram:{region}:{owner}:resource-share/{uuid.uuid4()}"
    permission = f"arn:aws:ram:{region}:{owner}:permission/CreatedFromPolicy-{uuid.uuid4()}"
    share = ResourceShare(arn, f"LinkedResourcePolicy-{arn.rsplit('/', 1)[1][:8]}", owner, True, when, when,
                          "ACTIVE", [permission], feature_set="CREATED_FROM_POLICY",
                          policy_permission_promoted=permission_promoted)
    for principal in principals:
        external = principal.isdigit() and not same_organization(world, owner, principal)
        share.associations.append(ShareAssociation("PRINCIPAL", principal, "ASSOCIATED", when, when, external))
    share.associations.append(ShareAssociation("RESOURCE", resource_arn, "ASSOCIATED", when, when))
    state.resource_shares[arn] = share
    if record_policy:
        from reconciler.sandbox import resource_policy

        parsed = parse_sms_arn(resource_arn)
        actions = sorted(resource_policy.ALLOWED_ACTIONS[parsed[2]]) if parsed else []
        accounts = [p for p in principals if p.isdigit()]
        services = [p for p in principals if not p.isdigit()]
        grantees: dict[str, list[str]] = {}
        if accounts:
            grantees["AWS"] = accounts
        if services:
            grantees["Service"] = services
        document = {"Version": resource_policy.VERSION, "Statement": [
            {"Effect": "Allow", "Principal": grantees, "Action": actions, "Resource": resource_arn}]}
        state.resource_policies[resource_arn] = ResourcePolicy(resource_arn, json.dumps(document), when, arn)
    return share


def principal_covers(world: World, principal: str, account: str) -> bool:
    """Whether a share principal (account id, organization ARN or OU ARN) includes ``account``."""
    if principal == account:
        return True
    path = str(world.organization.get(account, ""))
    if not path or not principal.startswith("arn:aws:organizations::"):
        return False
    resource = principal.split(":", 5)[5]
    kind, _, ids = resource.partition("/")
    chain = path.split("/")
    if kind == "organization":
        return ids == chain[0]
    if kind == "ou":
        org_id, _, ou_id = ids.partition("/")
        return org_id == chain[0] and ou_id in chain[1:]
    return False


def same_organization(world: World, first: str, second: str) -> bool:
    a = str(world.organization.get(first, "")).split("/")[0]
    b = str(world.organization.get(second, "")).split("/")[0]
    return bool(a) and a == b


def _associated(share: ResourceShare, association_type: str) -> list[ShareAssociation]:
    return [
        a for a in share.associations if a.association_type == association_type and a.status == "ASSOCIATED"
    ]


def shares_visible_to(world: World, consumer_account: str, region: str) -> list[ResourceShare]:
    """Active shares in ``region`` owned by other accounts whose principals include the consumer."""
    now = world.clock.now()
    visible: list[ResourceShare] = []
    for (account, share_region), state in sorted(world.regions.items()):
        if share_region != region or account == consumer_account:
            continue
        for share in state.resource_shares.values():
            if share.status != "ACTIVE":
                continue
            settle(share, now)
            if any(
                principal_covers(world, a.entity, consumer_account) for a in _associated(share, "PRINCIPAL")
            ):
                visible.append(share)
    return visible


def shared_resources(
    world: World, consumer_account: str, region: str, resource_type: str
) -> list[tuple[RegionState, Any]]:
    """Resources of ``resource_type`` (e.g. ``sms-voice:PhoneNumber``) shared with the consumer."""
    found: dict[str, tuple[RegionState, Any]] = {}
    for share in shares_visible_to(world, consumer_account, region):
        for association in _associated(share, "RESOURCE"):
            parsed = parse_sms_arn(association.entity)
            if parsed is None or parsed[2] != resource_type or parsed[0] != region:
                continue
            hit = find_resource(world, association.entity)
            if hit is not None:
                found[association.entity] = hit
    return [found[arn] for arn in sorted(found)]


def member_arns(state: RegionState, record: Any) -> list[str]:
    """Identities a shared pool or opt-out list depends on, in the owner's account.

    A pool's members are its origination identities. An opt-out list's members are the owner's
    phone numbers and pools that use it (sender IDs carry no opt-out list in this model).
    """
    if hasattr(record, "members") and hasattr(record, "pool_id"):
        return list(record.members)
    if hasattr(record, "entries"):
        name = record.name
        numbers = [p.arn for p in state.phone_numbers.values() if p.opt_out_list_name == name]
        pools = [p.arn for p in state.pools.values() if p.opt_out_list_name == name]
        return sorted(numbers + pools)
    return []


def usable_by(world: World, consumer_account: str, region: str, arn: str, action: str | None = None) -> bool:
    """Whether the consumer may use the resource ``arn`` in ``region``: it owns it, or a STANDARD
    share holds it (and, for a pool or opt-out list, every member), or a resource policy grants
    the consumer ``action`` on it (and on every member). ``action=None`` asks only whether the
    resource is visible to the consumer (any grant)."""
    hit = find_resource(world, arn)
    if hit is None:
        return False
    state, record = hit
    if state.region != region:
        return False
    if state.account == consumer_account:
        return True
    needed = set(member_arns(state, record))
    for share in shares_visible_to(world, consumer_account, region):
        in_share = {a.entity for a in _associated(share, "RESOURCE")}
        if arn not in in_share:
            continue
        if share.feature_set != "CREATED_FROM_POLICY":
            # The AWS managed RAM permission grants the resource's use.
            if needed <= in_share:
                return True
        elif policy_grants(state, arn, consumer_account, action) and all(
            usable_by(world, consumer_account, region, member, action) for member in needed
        ):
            return True
    return False


def policy_grants(state: RegionState, arn: str, account: str, action: str | None) -> bool:
    """Whether the resource policy on ``arn`` grants ``account`` ``action`` (any action if None)."""
    from reconciler.sandbox import resource_policy

    policy = state.resource_policies.get(arn)
    if policy is None:
        return False
    if action is None:
        return True
    return resource_policy.allows(policy.document, arn, state.account, account, action)


def unlink_promoted(state: RegionState, share_arn: str) -> None:
    """After PromoteResourceShareCreatedFromPolicy RAM manages the grant as a STANDARD share: the
    resource policy that made the share no longer stands on its own (GetResourcePolicy finds none)."""
    for arn, policy in list(state.resource_policies.items()):
        if policy.share_arn == share_arn:
            del state.resource_policies[arn]


def authorize(world: World, caller: str, owner: RegionState, arn: str, action: str) -> None:
    """AccessDeniedException unless the caller owns ``arn`` or a grant lets it call ``action``
    (the IAM message: "not authorized to perform ... because no resource-based policy allows")."""
    from reconciler.sandbox.errors import ApiError

    if owner.account == caller or usable_by(world, caller, owner.region, arn, action):
        return
    raise ApiError(
        "AccessDeniedException",
        f"User: arn:aws:iam::{caller}:root is not authorized to perform: {action} on resource: {arn} "
        f"because no resource-based policy allows the {action} action",
    )
