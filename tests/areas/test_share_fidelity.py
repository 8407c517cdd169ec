"""The shares area against the stricter RAM sandbox: invitations, one permission per resource type,
and shares RAM created from resource policies (issue 12, item 5)."""

from __future__ import annotations

from typing import Any

import pytest
from area_support import ACCOUNT, REGION, calls

from reconciler.areas.shares.area import DEFAULT_PERMISSIONS, SharesArea
from reconciler.areas.shares.spec import ResourceRef, ShareSpec
from reconciler.aws import Api
from reconciler.config.model import Desired, Target
from reconciler.plan import Change
from reconciler.sandbox import Sandbox, sharing

ORG_ID = "o-abcdefghij"
MEMBER = "222222222222"
OUTSIDER = "999999999999"


@pytest.fixture
def org(sandbox: Sandbox) -> Sandbox:
    sandbox.world.organization = {ACCOUNT: ORG_ID, MEMBER: ORG_ID}
    return sandbox


def converge(api: Api, desired: Desired) -> tuple[SharesArea, list[Change]]:
    area = SharesArea()
    changes = sorted(area.diff(desired, area.read(api, desired)), key=Change.sort_key)
    for change in changes:
        area.apply(api, change)
    return area, changes


def new_number(sms: Any) -> dict[str, Any]:
    return dict(sms.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                         NumberType="TOLL_FREE"))


def share_permissions(ram: Any) -> list[str]:
    [share] = ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus="ACTIVE")["resourceShares"]
    return sorted(p["arn"] for p in ram.list_resource_share_permissions(resourceShareArn=share["resourceShareArn"])["permissions"])


def test_an_outside_account_is_pending_until_it_accepts(org: Sandbox, api: Api, sms: Any, target: Target) -> None:
    number = new_number(sms)
    desired = Desired(target, shares=(ShareSpec("partner", (OUTSIDER,), True,
                                                resources=(ResourceRef("phone_number", number["PhoneNumberId"]),)),))
    converge(api, desired)
    area = SharesArea()
    live = area.read(api, desired)
    assert area.diff(desired, live) == []  # nothing to re-associate: RAM waits for the invitation
    [pending] = area.pending(desired, live)
    assert (pending["share"], pending["principal"]) == ("partner", OUTSIDER)
    assert not sharing.usable_by(org.world, OUTSIDER, REGION, number["PhoneNumberArn"])
    consumer = org.client("ram", OUTSIDER, REGION)
    [invitation] = consumer.get_resource_share_invitations()["resourceShareInvitations"]
    consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    live = area.read(api, desired)
    assert area.diff(desired, live) == [] and area.pending(desired, live) == []
    assert sharing.usable_by(org.world, OUTSIDER, REGION, number["PhoneNumberArn"])


def test_a_rejected_invitation_is_sent_again(org: Sandbox, api: Api, sms: Any, target: Target) -> None:
    number = new_number(sms)
    desired = Desired(target, shares=(ShareSpec("partner", (OUTSIDER,), True,
                                                resources=(ResourceRef("phone_number", number["PhoneNumberId"]),)),))
    converge(api, desired)
    consumer = org.client("ram", OUTSIDER, REGION)
    [invitation] = consumer.get_resource_share_invitations()["resourceShareInvitations"]
    consumer.reject_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    _, changes = converge(api, desired)
    assert [(c.action, c.data.get("entity")) for c in changes] == [("add", OUTSIDER)]
    statuses = sorted(i["status"] for i in consumer.get_resource_share_invitations()["resourceShareInvitations"])
    assert statuses == ["PENDING", "REJECTED"]


def test_permissions_follow_the_resource_types_and_leave_with_them(org: Sandbox, api: Api, sms: Any,
                                                                   target: Target) -> None:
    ram = org.client("ram", ACCOUNT, REGION)
    first, second = new_number(sms), new_number(sms)
    pool = sms.create_pool(OriginationIdentity=second["PhoneNumberId"], IsoCountryCode="US", MessageType="TRANSACTIONAL")
    number_ref = ResourceRef("phone_number", first["PhoneNumberId"])
    both = Desired(target, shares=(ShareSpec("eum", (MEMBER,), resources=(number_ref, ResourceRef("pool", pool["PoolId"]),
                                                                        ResourceRef("phone_number", second["PhoneNumberId"]))),))
    converge(api, both)
    assert share_permissions(ram) == sorted([DEFAULT_PERMISSIONS["phone_number"], DEFAULT_PERMISSIONS["pool"]])
    assert converge(api, both)[1] == []
    # The pool leaves the policy: its permission is removed, after the pool (RAM's order).
    numbers_only = Desired(target, shares=(ShareSpec("eum", (MEMBER,), resources=(number_ref,
                                                                                ResourceRef("phone_number", second["PhoneNumberId"]))),))
    _, changes = converge(api, numbers_only)
    assert [(c.action, c.resource_type) for c in changes] == [("remove", "share-resource"), ("disassociate", "share-permission")]
    assert calls(org, "DisassociateResourceSharePermission") == 1
    assert share_permissions(ram) == [DEFAULT_PERMISSIONS["phone_number"]]
    assert converge(api, numbers_only)[1] == []


def test_a_share_created_from_a_resource_policy_is_left_alone(org: Sandbox, api: Api, sms: Any, target: Target) -> None:
    number = new_number(sms)
    made = sharing.create_share_from_policy(org.world, ACCOUNT, REGION, number["PhoneNumberArn"], [MEMBER])
    desired = Desired(target, prune=frozenset({"shares"}))
    area, changes = converge(api, desired)
    assert changes == []  # not deleted, even with prune: RAM refuses to change it
    [item] = area.unmanaged(desired, area.read(api, desired))
    assert item["id"] == made.arn and "promote-resource-share-created-from-policy" in item["detail"]
    assert calls(org, "DeleteResourceShare") == 0
    assert org.world.regions[(ACCOUNT, REGION)].resource_shares[made.arn].status == "ACTIVE"
