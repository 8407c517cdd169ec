"""RAM resource share invitations (AWS RAM User Guide, "Accepting and rejecting resource share
invitations", ram/latest/userguide/working-with-shared-invitations.html): an account outside the
owner's organization is invited and sees nothing until it accepts; inside the organization with
sharing enabled, access needs no invitation."""

from __future__ import annotations

import pytest
from platform_support import CONSUMER, OUTSIDER, OWNER

from reconciler.sandbox import sharing

SMS = "pinpoint-sms-voice-v2"
REGION = "us-east-1"


@pytest.fixture
def shared_number(sandbox):
    ram, sms = sandbox.raw_client("ram", OWNER), sandbox.raw_client(SMS, OWNER)
    number = sms.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )["PhoneNumberArn"]
    share = ram.create_resource_share(name="outside", principals=[CONSUMER], resourceArns=[number])["resourceShare"]
    return ram, share["resourceShareArn"], number


def _invitations(sandbox, account=CONSUMER, **params):
    return sandbox.raw_client("ram", account).get_resource_share_invitations(**params)["resourceShareInvitations"]


def _principal_status(ram, share_arn):
    rows = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[share_arn])
    return [(a["associatedEntity"], a["status"], a["external"]) for a in rows["resourceShareAssociations"]]


def test_an_outside_account_gets_a_pending_invitation_and_sees_nothing_until_it_accepts(sandbox, shared_number):
    ram, share_arn, number = shared_number
    [invitation] = _invitations(sandbox)
    assert (invitation["status"], invitation["senderAccountId"], invitation["receiverAccountId"],
            invitation["resourceShareArn"]) == ("PENDING", OWNER, CONSUMER, share_arn)
    assert _principal_status(ram, share_arn) == [(CONSUMER, "ASSOCIATING", True)]
    consumer = sandbox.raw_client("ram", CONSUMER)
    assert consumer.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"] == []
    assert consumer.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"] == []
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, number)
    sandbox.world.clock.advance(3600)  # nothing settles on its own while the invitation is pending
    assert _principal_status(ram, share_arn) == [(CONSUMER, "ASSOCIATING", True)]
    accepted = consumer.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )["resourceShareInvitation"]
    assert accepted["status"] == "ACCEPTED"
    assert _principal_status(ram, share_arn) == [(CONSUMER, "ASSOCIATED", True)]
    assert [r["arn"] for r in consumer.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"]] == [number]
    assert sharing.usable_by(sandbox.world, CONSUMER, REGION, number)
    with pytest.raises(consumer.exceptions.ResourceShareInvitationAlreadyAcceptedException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    with pytest.raises(consumer.exceptions.ResourceShareInvitationAlreadyAcceptedException):
        consumer.reject_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])


def test_a_rejected_invitation_fails_the_association(sandbox, shared_number):
    ram, share_arn, number = shared_number
    [invitation] = _invitations(sandbox)
    consumer = sandbox.raw_client("ram", CONSUMER)
    rejected = consumer.reject_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )["resourceShareInvitation"]
    assert rejected["status"] == "REJECTED"
    assert _principal_status(ram, share_arn) == [(CONSUMER, "FAILED", True)]
    assert not sharing.usable_by(sandbox.world, CONSUMER, REGION, number)
    with pytest.raises(consumer.exceptions.ResourceShareInvitationAlreadyRejectedException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])


def test_an_unanswered_invitation_expires(sandbox, shared_number):
    ram, share_arn, _ = shared_number
    [invitation] = _invitations(sandbox)
    sandbox.world.clock.advance(sharing.INVITATION_LIFETIME + 1)
    assert [i["status"] for i in _invitations(sandbox)] == ["EXPIRED"]
    assert _principal_status(ram, share_arn) == [(CONSUMER, "FAILED", True)]
    consumer = sandbox.raw_client("ram", CONSUMER)
    with pytest.raises(consumer.exceptions.ResourceShareInvitationExpiredException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    # Associating the principal again sends a new invitation.
    ram.associate_resource_share(resourceShareArn=share_arn, principals=[CONSUMER])
    assert sorted(i["status"] for i in _invitations(sandbox)) == ["EXPIRED", "PENDING"]


def test_inside_the_organization_no_invitation_is_needed(sandbox):
    sandbox.world.organization = {OWNER: "o-exampleorgid/ou-abcd-11111111", CONSUMER: "o-exampleorgid/ou-abcd-22222222"}
    ram, sms = sandbox.raw_client("ram", OWNER), sandbox.raw_client(SMS, OWNER)
    number = sms.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )["PhoneNumberArn"]
    share = ram.create_resource_share(name="inside", principals=[CONSUMER], resourceArns=[number])["resourceShare"]
    assert _invitations(sandbox) == []
    assert _principal_status(ram, share["resourceShareArn"]) == [(CONSUMER, "ASSOCIATED", False)]
    assert sharing.usable_by(sandbox.world, CONSUMER, REGION, number)


def test_invitation_lookups_validate_arns_and_page(sandbox):
    ram = sandbox.raw_client("ram", OWNER)
    for index in range(3):
        ram.create_resource_share(name=f"s{index}", principals=[CONSUMER])
    consumer = sandbox.raw_client("ram", CONSUMER)
    first = consumer.get_resource_share_invitations(maxResults=2)
    assert len(first["resourceShareInvitations"]) == 2 and first["nextToken"]
    rest = consumer.get_resource_share_invitations(maxResults=2, nextToken=first["nextToken"])
    assert len(rest["resourceShareInvitations"]) == 1 and "nextToken" not in rest
    assert _invitations(sandbox, OUTSIDER) == []  # only invitations the caller received
    with pytest.raises(consumer.exceptions.MalformedArnException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn="not-an-arn")
    unknown = f"arn:aws:ram:{REGION}:{OWNER}:resource-share-invitation/00000000-0000-0000-0000-000000000000"
    with pytest.raises(consumer.exceptions.ResourceShareInvitationArnNotFoundException):
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=unknown)
    with pytest.raises(consumer.exceptions.ResourceShareInvitationArnNotFoundException):
        consumer.get_resource_share_invitations(resourceShareInvitationArns=[unknown])
    # Another account cannot answer the consumer's invitation.
    arn = first["resourceShareInvitations"][0]["resourceShareInvitationArn"]
    outsider = sandbox.raw_client("ram", OUTSIDER)
    with pytest.raises(outsider.exceptions.ResourceShareInvitationArnNotFoundException):
        outsider.accept_resource_share_invitation(resourceShareInvitationArn=arn)
    with pytest.raises(consumer.exceptions.InvalidNextTokenException):
        consumer.get_resource_share_invitations(nextToken="forged")


def test_invitations_and_policy_shares_survive_a_snapshot(sandbox, shared_number):
    from reconciler.sandbox import snapshot

    _, share_arn, number = shared_number
    made = sharing.create_share_from_policy(sandbox.world, OWNER, REGION, number, [CONSUMER])
    document = snapshot.to_document(sandbox.world)
    world = snapshot.from_document(document)
    shares = world.regions[(OWNER, REGION)].resource_shares
    assert [i.status for i in shares[share_arn].invitations] == ["PENDING"]
    assert shares[made.arn].feature_set == "CREATED_FROM_POLICY"
    assert snapshot.to_document(world)["regions"] == document["regions"]
