"""RAM principals and sources: AWS services are consumers too (End User Messaging SMS User Guide,
"Working with shared resources", sms-voice/latest/userguide/shared-resources.html; RAM API
Reference, CreateResourceShare ``principals``/``sources``), and get access without an invitation."""

from __future__ import annotations

import pytest
from platform_support import CONSUMER, OWNER

SMS = "pinpoint-sms-voice-v2"


@pytest.fixture
def ram(sandbox):
    return sandbox.raw_client("ram", OWNER)


def _associations(ram, kind):
    rows = ram.get_resource_share_associations(associationType=kind)["resourceShareAssociations"]
    return [(a["associatedEntity"], a["status"]) for a in rows]


def test_a_service_principal_with_sources_is_accepted_without_an_invitation(sandbox, ram):
    share = ram.create_resource_share(
        name="to-sns", principals=["sns.amazonaws.com"], sources=[OWNER]
    )["resourceShare"]
    assert _associations(ram, "PRINCIPAL") == [("sns.amazonaws.com", "ASSOCIATED")]
    assert _associations(ram, "SOURCE") == [(OWNER, "ASSOCIATED")]
    assert sandbox.raw_client("ram", CONSUMER).get_resource_share_invitations()["resourceShareInvitations"] == []
    ram.associate_resource_share(resourceShareArn=share["resourceShareArn"], sources=["o-exampleorgid"])
    assert sorted(_associations(ram, "SOURCE")) == [(OWNER, "ASSOCIATED"), ("o-exampleorgid", "ASSOCIATED")]
    ram.disassociate_resource_share(resourceShareArn=share["resourceShareArn"], sources=["o-exampleorgid"])
    assert sorted(_associations(ram, "SOURCE")) == [(OWNER, "ASSOCIATED"), ("o-exampleorgid", "DISASSOCIATED")]


def test_sources_need_a_service_principal_and_a_valid_form(ram):
    with pytest.raises(ram.exceptions.InvalidParameterException):
        ram.create_resource_share(name="no-service", principals=[CONSUMER], sources=[OWNER])
    with pytest.raises(ram.exceptions.InvalidParameterException):
        ram.create_resource_share(name="bad-source", principals=["sns.amazonaws.com"], sources=["not a source"])


def test_principal_forms(ram):
    for bad in ("sns", "sns.example.com", "amazonaws.com", "not an account"):
        with pytest.raises(ram.exceptions.InvalidParameterException):
            ram.create_resource_share(name="bad", principals=[bad])
    # sms-voice resources are not shareable with IAM roles and users.
    with pytest.raises(ram.exceptions.InvalidParameterException):
        ram.create_resource_share(name="role", principals=[f"arn:aws:iam::{CONSUMER}:role/someone"])
