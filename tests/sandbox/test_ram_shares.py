"""RAM: resource shares of sms-voice resources, end to end through real boto3 clients."""

from __future__ import annotations

import pytest
from platform_support import CONSUMER, OUTSIDER, OWNER

from reconciler.sandbox import sharing
from reconciler.sandbox.handlers.ram import ASSOCIATION_DELAY_SETTING

PHONE_PERMISSION = sharing.DEFAULT_PERMISSIONS[sharing.PHONE_NUMBER]
POOL_PERMISSION = sharing.DEFAULT_PERMISSIONS[sharing.POOL]

SMS = "pinpoint-sms-voice-v2"
REGION = "us-east-1"


def _number(sms, number_type="TOLL_FREE"):
    return sms.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType=number_type
    )


@pytest.fixture
def owner(sandbox):
    return sandbox.raw_client("ram", OWNER), sandbox.raw_client(SMS, OWNER)


def _share(ram, **extra):
    return ram.create_resource_share(
        name="EUM-Shared-Resources", permissionArns=[PHONE_PERMISSION], **extra
    )["resourceShare"]


def accept_invitations(sandbox, account):
    """The consumer accepts every pending invitation (an account outside the organization must)."""
    ram = sandbox.raw_client("ram", account)
    for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
        if invitation["status"] == "PENDING":
            ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])


def test_seed_walkthrough_share_associate_list_disassociate(sandbox, owner):
    ram, sms = owner
    number = _number(sms)
    share = _share(ram, principals=[CONSUMER], allowExternalPrincipals=True)
    accept_invitations(sandbox, CONSUMER)
    assert (share["owningAccountId"], share["status"], share["featureSet"]) == (OWNER, "ACTIVE", "STANDARD")
    associations = ram.associate_resource_share(
        resourceShareArn=share["resourceShareArn"], resourceArns=[number["PhoneNumberArn"]]
    )
    assert [
        (a["associatedEntity"], a["associationType"], a["status"])
        for a in associations["resourceShareAssociations"]
    ] == [(number["PhoneNumberArn"], "RESOURCE", "ASSOCIATING")]
    shares = ram.get_resource_shares(resourceOwner="SELF", name="EUM-Shared-Resources")["resourceShares"]
    assert [s["resourceShareArn"] for s in shares] == [share["resourceShareArn"]]
    resources = ram.list_resources(resourceOwner="SELF", resourceShareArns=[share["resourceShareArn"]])[
        "resources"
    ]
    assert [(r["arn"], r["type"], r["status"]) for r in resources] == [
        (number["PhoneNumberArn"], "sms-voice:PhoneNumber", "AVAILABLE")
    ]
    # The consumer sees it shared with them, and may use it.
    consumer_ram = sandbox.raw_client("ram", CONSUMER)
    seen = consumer_ram.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"]
    assert [r["arn"] for r in seen] == [number["PhoneNumberArn"]]
    assert sharing.usable_by(sandbox.world, CONSUMER, REGION, number["PhoneNumberArn"])
    assert not sharing.usable_by(sandbox.world, OUTSIDER, REGION, number["PhoneNumberArn"])
    gone = ram.disassociate_resource_share(
        resourceShareArn=share["resourceShareArn"], resourceArns=[number["PhoneNumberArn"]]
    )
    assert gone["resourceShareAssociations"][0]["status"] == "DISASSOCIATING"
    assert consumer_ram.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"] == []
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, number["PhoneNumberArn"])
    listed = ram.get_resource_share_associations(
        associationType="RESOURCE", resourceArn=number["PhoneNumberArn"]
    )
    assert [a["status"] for a in listed["resourceShareAssociations"]] == ["DISASSOCIATED"]


def test_associations_settle_after_the_configured_delay(sandbox, owner):
    ram, sms = owner
    sandbox.world.settings[ASSOCIATION_DELAY_SETTING] = 30.0
    number = _number(sms)
    share = _share(ram, principals=[CONSUMER], resourceArns=[number["PhoneNumberArn"]])
    accept_invitations(sandbox, CONSUMER)
    pending = ram.get_resource_share_associations(associationType="RESOURCE")["resourceShareAssociations"]
    assert [a["status"] for a in pending] == ["ASSOCIATING"]
    assert ram.list_resources(resourceOwner="SELF")["resources"] == []
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, number["PhoneNumberArn"])
    sandbox.world.clock.advance(30)
    assert [
        a["status"]
        for a in ram.get_resource_share_associations(associationType="RESOURCE")["resourceShareAssociations"]
    ] == ["ASSOCIATED"]
    assert sharing.usable_by(sandbox.world, CONSUMER, REGION, number["PhoneNumberArn"])
    ram.disassociate_resource_share(resourceShareArn=share["resourceShareArn"], principals=[CONSUMER])
    # Strict: access ends when the disassociation starts, not when it settles.
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, number["PhoneNumberArn"])
    principals = ram.get_resource_share_associations(associationType="PRINCIPAL")["resourceShareAssociations"]
    assert [a["status"] for a in principals] == ["DISASSOCIATING"]
    sandbox.world.clock.advance(30)
    principals = ram.get_resource_share_associations(associationType="PRINCIPAL")["resourceShareAssociations"]
    assert [a["status"] for a in principals] == ["DISASSOCIATED"]


def test_only_own_resources_in_the_same_region_can_be_shared(sandbox, owner):
    ram, sms = owner
    number = _number(sms)
    foreign = _number(sandbox.raw_client(SMS, CONSUMER))
    cases = {
        "not-an-arn": "MalformedArnException",
        foreign["PhoneNumberArn"]: "UnknownResourceException",
        number["PhoneNumberArn"].replace("us-east-1", "eu-west-1"): "UnknownResourceException",
        number["PhoneNumberArn"][:-4] + "ffff": "UnknownResourceException",
        f"arn:aws:ec2:us-east-1:{OWNER}:subnet/subnet-1": "UnknownResourceException",
    }
    for arn, code in cases.items():
        with pytest.raises(ram.exceptions.ClientError) as excinfo:
            _share(ram, resourceArns=[arn])
        assert excinfo.value.response["Error"]["Code"] == code, arn
    assert ram.get_resource_shares(resourceOwner="SELF")["resourceShares"] == []


def test_principal_rules(sandbox, owner):
    ram, _ = owner
    with pytest.raises(ram.exceptions.OperationNotPermittedException):
        _share(ram, principals=[CONSUMER], allowExternalPrincipals=False)
    with pytest.raises(ram.exceptions.InvalidParameterException):
        _share(ram, principals=[f"arn:aws:iam::{CONSUMER}:role/someone"])
    with pytest.raises(ram.exceptions.InvalidParameterException):
        _share(ram, principals=[OWNER])
    with pytest.raises(ram.exceptions.OperationNotPermittedException):
        _share(ram, principals=["arn:aws:organizations::111122223333:organization/o-exampleorgid"])
    # Inside one organization no external flag is needed, and an OU principal covers its members.
    sandbox.world.organization = {
        OWNER: "o-exampleorgid/ou-abcd-11111111",
        CONSUMER: "o-exampleorgid/ou-abcd-22222222",
    }
    share = _share(ram, principals=[CONSUMER], allowExternalPrincipals=False)
    principals = ram.list_principals(resourceOwner="SELF")["principals"]
    assert [(p["id"], p["external"]) for p in principals] == [(CONSUMER, False)]
    ou = "arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-abcd-22222222"
    ram.associate_resource_share(resourceShareArn=share["resourceShareArn"], principals=[ou])
    assert sharing.principal_covers(sandbox.world, ou, CONSUMER)
    assert not sharing.principal_covers(sandbox.world, ou, OWNER)
    with pytest.raises(ram.exceptions.OperationNotPermittedException):
        ram.associate_resource_share(resourceShareArn=share["resourceShareArn"], principals=[OUTSIDER])


def test_shared_pool_works_only_when_all_members_are_in_the_same_share(sandbox, owner):
    ram, sms = owner
    first, second = _number(sms), _number(sms)
    pool = sms.create_pool(
        OriginationIdentity=first["PhoneNumberArn"], IsoCountryCode="US", MessageType="TRANSACTIONAL"
    )
    sms.associate_origination_identity(
        PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberArn"], IsoCountryCode="US"
    )
    share = _share(ram, principals=[CONSUMER], resourceArns=[pool["PoolArn"], first["PhoneNumberArn"]])
    accept_invitations(sandbox, CONSUMER)
    shared_pools = sharing.shared_resources(sandbox.world, CONSUMER, REGION, sharing.POOL)
    assert [record.arn for _, record in shared_pools] == [pool["PoolArn"]]
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, pool["PoolArn"])
    ram.associate_resource_share(
        resourceShareArn=share["resourceShareArn"], resourceArns=[second["PhoneNumberArn"]]
    )
    assert sharing.usable_by(sandbox.world, CONSUMER, REGION, pool["PoolArn"])
    # Members spread over two shares do not count.
    ram.disassociate_resource_share(
        resourceShareArn=share["resourceShareArn"], resourceArns=[second["PhoneNumberArn"]]
    )
    _share(ram, principals=[CONSUMER], resourceArns=[second["PhoneNumberArn"]])
    accept_invitations(sandbox, CONSUMER)
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, pool["PoolArn"])


def test_shared_opt_out_list_needs_the_numbers_that_use_it(sandbox, owner):
    ram, sms = owner
    listing = sms.create_opt_out_list(OptOutListName="shared-list")
    number = _number(sms)
    sms.update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="shared-list")
    share = _share(ram, principals=[CONSUMER], resourceArns=[listing["OptOutListArn"]])
    accept_invitations(sandbox, CONSUMER)
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, listing["OptOutListArn"])
    ram.associate_resource_share(
        resourceShareArn=share["resourceShareArn"], resourceArns=[number["PhoneNumberArn"]]
    )
    assert sharing.usable_by(sandbox.world, CONSUMER, REGION, listing["OptOutListArn"])


def test_update_delete_and_listing_filters(sandbox, owner):
    ram, _ = owner
    tagged = _share(ram, tags=[{"key": "team", "value": "sms"}])
    _share(ram, tags=[{"key": "team", "value": "voice"}])
    found = ram.get_resource_shares(
        resourceOwner="SELF", tagFilters=[{"tagKey": "team", "tagValues": ["sms"]}]
    )["resourceShares"]
    assert [s["resourceShareArn"] for s in found] == [tagged["resourceShareArn"]]
    assert found[0]["tags"] == [{"key": "team", "value": "sms"}]
    renamed = ram.update_resource_share(resourceShareArn=tagged["resourceShareArn"], name="renamed")[
        "resourceShare"
    ]
    assert renamed["name"] == "renamed"
    assert ram.delete_resource_share(resourceShareArn=tagged["resourceShareArn"])["returnValue"] is True
    deleted = ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus="DELETED")["resourceShares"]
    assert [s["resourceShareArn"] for s in deleted] == [tagged["resourceShareArn"]]
    with pytest.raises(ram.exceptions.InvalidStateTransitionException):
        ram.delete_resource_share(resourceShareArn=tagged["resourceShareArn"])
    consumer = sandbox.raw_client("ram", CONSUMER)
    with pytest.raises(consumer.exceptions.UnknownResourceException):
        consumer.update_resource_share(resourceShareArn=found[0]["resourceShareArn"], name="stolen")


def test_client_token_makes_create_idempotent(sandbox, owner):
    ram, _ = owner
    first = ram.create_resource_share(name="once", clientToken="token-1")
    again = ram.create_resource_share(name="once", clientToken="token-1")
    assert first["resourceShare"]["resourceShareArn"] == again["resourceShare"]["resourceShareArn"]
    assert first["clientToken"] == "token-1"
    assert len(ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]) == 1
    with pytest.raises(ram.exceptions.IdempotentParameterMismatchException):
        ram.create_resource_share(name="other", clientToken="token-1")


def test_permissions_one_per_resource_type(sandbox, owner):
    ram, sms = owner
    permissions = ram.list_permissions(resourceType="sms-voice:Pool")["permissions"]
    assert [(p["arn"], p["resourceType"], p["permissionType"]) for p in permissions] == [
        (POOL_PERMISSION, "sms-voice:Pool", "AWS_MANAGED")
    ]
    every = ram.list_permissions()["permissions"]
    assert sorted(p["resourceType"] for p in every) == sorted(sharing.SHAREABLE_TYPES)
    assert ram.list_permissions(permissionType="CUSTOMER_MANAGED")["permissions"] == []
    number = _number(sms)
    pool = sms.create_pool(OriginationIdentity=number["PhoneNumberArn"], IsoCountryCode="US", MessageType="TRANSACTIONAL")
    # No permissionArns: RAM attaches the default permission of each resource type in the share.
    share = ram.create_resource_share(name="defaults", resourceArns=[number["PhoneNumberArn"], pool["PoolArn"]])[
        "resourceShare"
    ]
    arn = share["resourceShareArn"]
    listed = ram.list_resource_share_permissions(resourceShareArn=arn)["permissions"]
    assert sorted((p["arn"], p["resourceType"]) for p in listed) == sorted(
        [(PHONE_PERMISSION, "sms-voice:PhoneNumber"), (POOL_PERMISSION, "sms-voice:Pool")]
    )
    # The permission of a type not in the share can be added ahead of its resources; associating
    # the one a type already has is a no-op.
    opt_out = sharing.DEFAULT_PERMISSIONS[sharing.OPT_OUT_LIST]
    assert ram.associate_resource_share_permission(resourceShareArn=arn, permissionArn=opt_out)["returnValue"]
    assert ram.associate_resource_share_permission(resourceShareArn=arn, permissionArn=PHONE_PERMISSION)["returnValue"]
    # Removing a permission is refused while resources of its type are in the share, then allowed.
    with pytest.raises(ram.exceptions.OperationNotPermittedException):
        ram.disassociate_resource_share_permission(resourceShareArn=arn, permissionArn=POOL_PERMISSION)
    ram.disassociate_resource_share(resourceShareArn=arn, resourceArns=[pool["PoolArn"]])
    assert ram.disassociate_resource_share_permission(resourceShareArn=arn, permissionArn=POOL_PERMISSION)["returnValue"]
    assert ram.disassociate_resource_share_permission(resourceShareArn=arn, permissionArn=opt_out)["returnValue"]
    left = ram.list_resource_share_permissions(resourceShareArn=arn)["permissions"]
    assert [p["arn"] for p in left] == [PHONE_PERMISSION]
    with pytest.raises(ram.exceptions.UnknownResourceException):
        ram.disassociate_resource_share_permission(resourceShareArn=arn, permissionArn=POOL_PERMISSION)
    with pytest.raises(ram.exceptions.UnknownResourceException):
        ram.associate_resource_share_permission(
            resourceShareArn=arn, permissionArn="arn:aws:ram::aws:permission/AWSRAMDefaultPermissionEC2Subnet"
        )
    with pytest.raises(ram.exceptions.MalformedArnException):
        ram.associate_resource_share_permission(resourceShareArn=arn, permissionArn="nope")
    with pytest.raises(ram.exceptions.InvalidResourceTypeException):
        ram.list_resources(resourceOwner="SELF", resourceType="not a type")


def test_pagination_to_the_last_page(sandbox, owner):
    ram, sms = owner
    numbers = [_number(sms, "LONG_CODE" if i % 2 else "TOLL_FREE")["PhoneNumberArn"] for i in range(7)]
    _share(ram, principals=[CONSUMER], resourceArns=numbers)
    accept_invitations(sandbox, CONSUMER)
    seen, token, pages = [], None, 0
    while True:
        page = ram.list_resources(
            resourceOwner="SELF", maxResults=3, **({"nextToken": token} if token else {})
        )
        seen += [r["arn"] for r in page["resources"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert pages == 3 and sorted(seen) == sorted(numbers) and len(seen) == 7
    paginator = sandbox.session(CONSUMER).client("ram").get_paginator("list_resources")
    consumer_seen = [
        r["arn"]
        for page in paginator.paginate(resourceOwner="OTHER-ACCOUNTS", PaginationConfig={"PageSize": 2})
        for r in page["resources"]
    ]
    assert sorted(consumer_seen) == sorted(numbers)
    with pytest.raises(ram.exceptions.InvalidNextTokenException):
        ram.list_resources(resourceOwner="SELF", nextToken="forged")
    with pytest.raises(ram.exceptions.InvalidNextTokenException):
        ram.list_principals(resourceOwner="SELF", nextToken=page_token(ram))


def page_token(ram):
    return ram.list_resources(resourceOwner="SELF", maxResults=1)["nextToken"]


def test_responses_were_checked_against_output_shapes(sandbox):
    before = sandbox.shape_checks
    sandbox.raw_client("ram", OWNER).get_resource_shares(resourceOwner="SELF")
    sandbox.raw_client("sts", OWNER).get_caller_identity()
    assert sandbox.shape_checks == before + 2
