"""Shares RAM creates from a resource policy (``featureSet`` CREATED_FROM_POLICY) "can't be modified
by using RAM" until promoted (RAM API Reference, PromoteResourceShareCreatedFromPolicy,
ram/latest/APIReference/API_PromoteResourceShareCreatedFromPolicy.html)."""

from __future__ import annotations

import pytest
from platform_support import CONSUMER, OWNER

from reconciler.sandbox import sharing

SMS = "pinpoint-sms-voice-v2"
REGION = "us-east-1"


@pytest.fixture
def policy_share(sandbox):
    sms = sandbox.raw_client(SMS, OWNER)
    number = sms.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )["PhoneNumberArn"]
    share = sharing.create_share_from_policy(sandbox.world, OWNER, REGION, number, [CONSUMER])
    return sandbox.raw_client("ram", OWNER), share.arn, number


def test_a_share_created_from_a_policy_is_listed_with_its_feature_set_and_refuses_changes(sandbox, policy_share):
    ram, arn, number = policy_share
    [listed] = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert (listed["resourceShareArn"], listed["featureSet"], listed["status"]) == (arn, "CREATED_FROM_POLICY", "ACTIVE")
    # Visible to the owner only; the policy still grants the consumer access.
    assert sandbox.raw_client("ram", CONSUMER).get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"] == []
    assert sharing.usable_by(sandbox.world, CONSUMER, REGION, number)
    [permission] = ram.list_resource_share_permissions(resourceShareArn=arn)["permissions"]
    assert permission["featureSet"] == "CREATED_FROM_POLICY"
    refused = [
        lambda: ram.update_resource_share(resourceShareArn=arn, name="renamed"),
        lambda: ram.delete_resource_share(resourceShareArn=arn),
        lambda: ram.associate_resource_share(resourceShareArn=arn, principals=["999988887777"]),
        lambda: ram.disassociate_resource_share(resourceShareArn=arn, principals=[CONSUMER]),
        lambda: ram.associate_resource_share_permission(
            resourceShareArn=arn, permissionArn=sharing.DEFAULT_PERMISSIONS[sharing.PHONE_NUMBER], replace=True
        ),
        lambda: ram.disassociate_resource_share_permission(resourceShareArn=arn, permissionArn=permission["arn"]),
    ]
    for attempt in refused:
        with pytest.raises(ram.exceptions.OperationNotPermittedException):
            attempt()
    assert ram.get_resource_shares(resourceOwner="SELF")["resourceShares"][0]["name"] == listed["name"]


def test_promotion_makes_the_share_standard_and_manageable(sandbox, policy_share):
    ram, arn, _ = policy_share
    assert ram.promote_resource_share_created_from_policy(resourceShareArn=arn)["returnValue"] is True
    [listed] = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert listed["featureSet"] == "STANDARD"
    assert ram.update_resource_share(resourceShareArn=arn, name="promoted")["resourceShare"]["name"] == "promoted"
    with pytest.raises(ram.exceptions.InvalidStateTransitionException):
        ram.promote_resource_share_created_from_policy(resourceShareArn=arn)


def test_promotion_needs_a_matching_customer_managed_permission(sandbox):
    sms = sandbox.raw_client(SMS, OWNER)
    number = sms.request_phone_number(
        IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
    )["PhoneNumberArn"]
    share = sharing.create_share_from_policy(sandbox.world, OWNER, REGION, number, [CONSUMER], permission_promoted=False)
    ram = sandbox.raw_client("ram", OWNER)
    with pytest.raises(ram.exceptions.UnmatchedPolicyPermissionException):
        ram.promote_resource_share_created_from_policy(resourceShareArn=share.arn)
