"""Pure diffs of the shares area: create, associate, disassociate, external principals, deletion."""

from __future__ import annotations

import pytest

from reconciler.areas.shares.area import LiveShare, LiveShares, SharesArea
from reconciler.areas.shares.spec import ResourceRef, ShareSpec
from reconciler.cli import UserError
from reconciler.config.model import Desired, Source, Target
from reconciler.plan import FLAG_EXTERNAL_PRINCIPALS, FLAG_NEEDS_FORCE

TARGET = Target("prod", "111122223333", "us-east-1")
ORG = "arn:aws:organizations::111111111111:organization/o-abcdefghij"
OU = "arn:aws:organizations::111111111111:ou/o-abcdefghij/ou-ab12-abcdefgh"
SHARE_ARN = "arn:aws:ram:us-east-1:111122223333:resource-share/00000000-0000-0000-0000-000000000001"
NUMBER_ARN = "arn:aws:sms-voice:us-east-1:111122223333:phone-number/phone-1"
POOL_ARN = "arn:aws:sms-voice:us-east-1:111122223333:pool/pool-1"
PERMISSION = "arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoice"


def desired(*shares: ShareSpec, prune: frozenset[str] = frozenset(), org: str | None = ORG) -> Desired:
    return Desired(TARGET, shares=shares, prune=prune, organization_arn=org)


def resolved(**extra: str) -> LiveShares:
    live = LiveShares()
    live.resolved = {"phone_number:phone-1": NUMBER_ARN, "pool:pool-1": POOL_ARN, **extra}
    live.labels = {arn: key for key, arn in live.resolved.items()}
    return live


def share(**kwargs: object) -> LiveShare:
    base: dict[str, object] = {
        "arn": SHARE_ARN, "name": "eum", "allow_external_principals": False, "managed": True,
        "principals": {OU: "ASSOCIATED"}, "resources": {NUMBER_ARN: "ASSOCIATED"},
        "permissions": (PERMISSION,), "detailed": True,
    }
    base.update(kwargs)
    return LiveShare(**base)  # type: ignore[arg-type]


def spec(**kwargs: object) -> ShareSpec:
    base: dict[str, object] = {"name": "eum", "principals": (OU,), "resources": (ResourceRef("phone_number", "phone-1"),)}
    base.update(kwargs)
    return ShareSpec(**base)  # type: ignore[arg-type]


def test_missing_share_is_created_with_everything_in_one_step() -> None:
    changes = SharesArea().diff(desired(spec()), resolved())
    assert len(changes) == 1
    create = changes[0]
    assert (create.action, create.key) == ("create", "shares/eum")
    assert create.data["principals"] == [OU]
    assert create.data["resource_arns"] == [NUMBER_ARN]
    assert create.data["permission_arns"] == [PERMISSION]
    assert FLAG_EXTERNAL_PRINCIPALS not in create.flags


def test_converged_share_has_no_changes_and_associating_counts_as_present() -> None:
    live = resolved()
    live.shares = [share(principals={OU: "ASSOCIATING"}, resources={NUMBER_ARN: "ASSOCIATING"})]
    assert SharesArea().diff(desired(spec()), live) == []


def test_principals_and_resources_are_associated_and_disassociated() -> None:
    live = resolved()
    live.shares = [share(principals={OU: "ASSOCIATED", "222222222222": "ASSOCIATED"},
                         resources={NUMBER_ARN: "ASSOCIATED", POOL_ARN: "DISASSOCIATING"})]
    want = spec(principals=(OU, ORG), resources=(ResourceRef("pool", "pool-1"),))
    changes = sorted(SharesArea().diff(desired(want), live), key=lambda c: c.sort_key())
    changes = [c for c in changes if c.resource_type != "share-permission"]  # see the per-type test
    summary = [(c.action, c.resource_type, c.data["entity"]) for c in changes]
    assert summary == [
        ("add", "share-principal", ORG),
        ("add", "share-resource", POOL_ARN),
        ("remove", "share-principal", "222222222222"),
        ("remove", "share-resource", NUMBER_ARN),
    ]
    assert all(c.scope == "shares/eum" for c in changes)
    assert not any(FLAG_EXTERNAL_PRINCIPALS in c.flags for c in changes)


def test_external_principals_are_flagged_for_reviewers() -> None:
    live = resolved()
    live.shares = [share()]
    want = spec(principals=(OU, "999999999999"), allow_external_principals=True)
    changes = {(c.action, c.key): c for c in SharesArea().diff(desired(want), live)}
    opened = changes[("update", "shares/eum")]
    assert opened.after == {"allow_external_principals": True}
    assert FLAG_EXTERNAL_PRINCIPALS in opened.flags
    added = changes[("add", "shares/eum/principal/999999999999")]
    assert FLAG_EXTERNAL_PRINCIPALS in added.flags
    assert opened.order < added.order  # allowed before the external account is added


def test_closing_a_share_runs_after_its_external_principals_leave() -> None:
    live = resolved()
    live.shares = [share(allow_external_principals=True, principals={OU: "ASSOCIATED", "999999999999": "ASSOCIATED"})]
    changes = {c.action: c for c in SharesArea().diff(desired(spec()), live)}
    assert changes["update"].order > changes["remove"].order
    assert FLAG_EXTERNAL_PRINCIPALS not in changes["update"].flags


def test_new_share_allowing_external_principals_is_flagged() -> None:
    changes = SharesArea().diff(desired(spec(allow_external_principals=True)), resolved())
    assert FLAG_EXTERNAL_PRINCIPALS in changes[0].flags


def test_managed_share_no_longer_in_policy_is_deleted_with_force_unmanaged_only_reported() -> None:
    live = resolved()
    live.shares = [share(), share(arn=SHARE_ARN[:-1] + "2", name="theirs", managed=False)]
    area = SharesArea()
    changes = area.diff(desired(), live)
    assert [(c.action, c.key) for c in changes] == [("delete", "shares/eum")]
    assert {"deletion", FLAG_NEEDS_FORCE} <= changes[0].flags
    assert [u["name"] for u in area.unmanaged(desired(), live)] == ["theirs"]
    pruned = area.diff(desired(prune=frozenset({"shares"})), live)
    assert sorted(c.key for c in pruned) == ["shares/eum", "shares/theirs"]


def test_missing_permission_is_associated() -> None:
    live = resolved()
    live.shares = [share(permissions=())]
    changes = SharesArea().diff(desired(spec()), live)
    assert [(c.action, c.resource_type, c.after) for c in changes] == [
        ("associate", "share-permission", "AWSRAMDefaultPermissionSmsVoice")
    ]


def test_unresolved_references_are_one_error_naming_every_source() -> None:
    live = resolved()
    live.unresolved = [
        "config/shares.yaml:7:9: pool 'pool-x' does not exist in account 111122223333 us-east-1",
        "config/shares.yaml:8:9: sender id 'ACME/GB' does not exist in account 111122223333 us-east-1",
    ]
    want = spec(resources=(ResourceRef("pool", "pool-x", Source("config/shares.yaml", 7, 9)),))
    with pytest.raises(UserError) as error:
        SharesArea().diff(desired(want), live)
    assert "config/shares.yaml:7:9" in error.value.message
    assert "config/shares.yaml:8:9" in error.value.message


def test_pool_shared_without_its_members_is_a_warning_with_the_fix() -> None:
    live = resolved()
    live.members = {POOL_ARN: (NUMBER_ARN, "arn:aws:sms-voice:us-east-1:111122223333:phone-number/phone-2")}
    want = spec(resources=(ResourceRef("pool", "pool-1", Source("config/shares.yaml", 5, 7)), ResourceRef("phone_number", "phone-1")))
    warnings = SharesArea().warnings(desired(want), live)
    assert len(warnings) == 1
    assert "pool pool-1 is shared without its members phone_number:phone-2" in warnings[0]
    assert "config/shares.yaml:5:7" in warnings[0]
    assert "add them to the share's resources" in warnings[0]


def test_declared_member_accounts_are_not_flagged_external() -> None:
    live = resolved()
    live.shares = [share(allow_external_principals=True)]
    want = spec(principals=(OU, "222222222222", "999999999999"), allow_external_principals=True)
    policy = Desired(TARGET, shares=(want,), organization_arn=ORG, organization_accounts=frozenset({"222222222222"}))
    flagged = {c.key for c in SharesArea().diff(policy, live) if FLAG_EXTERNAL_PRINCIPALS in c.flags}
    assert flagged == {"shares/eum/principal/999999999999"}


def test_resources_and_permissions_of_other_services_are_left_alone() -> None:
    subnet = "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0123"
    live = resolved()
    live.shares = [share(resources={NUMBER_ARN: "ASSOCIATED", subnet: "ASSOCIATED"},
                         permissions=(PERMISSION, "arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSubnet"))]
    assert SharesArea().diff(desired(spec()), live) == []


POOL_PERMISSION = "arn:aws:ram::aws:permission/AWSRAMDefaultPermissionSmsVoicePool"


def test_permissions_follow_the_share_resource_types() -> None:
    """RAM: one managed permission per resource type; removing one needs its resources gone first."""
    live = resolved()
    live.shares = [share(permissions=(PERMISSION,))]
    want = spec(resources=(ResourceRef("pool", "pool-1"),))
    changes = sorted(SharesArea().diff(desired(want), live), key=lambda c: c.sort_key())
    by_key = {(c.action, c.resource_type, c.data.get("permission_arn") or c.data.get("entity")): c for c in changes}
    associate = by_key[("associate", "share-permission", POOL_PERMISSION)]
    disassociate = by_key[("disassociate", "share-permission", PERMISSION)]
    removal = by_key[("remove", "share-resource", NUMBER_ARN)]
    assert associate.order < by_key[("add", "share-resource", POOL_ARN)].order
    assert disassociate.order > removal.order  # RAM refuses it while phone numbers are still shared
    created = SharesArea().diff(desired(spec(resources=(ResourceRef("pool", "pool-1"),
                                                        ResourceRef("phone_number", "phone-1")))), resolved())
    assert created[0].data["permission_arns"] == sorted([PERMISSION, POOL_PERMISSION])


def test_an_invited_principal_is_pending_not_a_change_and_not_in_sync() -> None:
    live = resolved()
    live.shares = [share(allow_external_principals=True, principals={OU: "ASSOCIATED", "999999999999": "ASSOCIATING"},
                         pending=("999999999999",))]
    want = spec(principals=(OU, "999999999999"), allow_external_principals=True)
    area = SharesArea()
    assert area.diff(desired(want), live) == []
    [pending] = area.pending(desired(want), live)
    assert (pending["share"], pending["principal"], pending["status"]) == ("eum", "999999999999", "invitation-pending")
    assert "accept" in pending["detail"]


def test_a_rejected_invitation_is_added_again_with_a_note() -> None:
    live = resolved()
    live.shares = [share(allow_external_principals=True, principals={OU: "ASSOCIATED", "999999999999": "FAILED"},
                         failed=("999999999999",))]
    want = spec(principals=(OU, "999999999999"), allow_external_principals=True)
    [change] = SharesArea().diff(desired(want), live)
    assert (change.action, change.data["entity"]) == ("add", "999999999999")
    assert "rejected or expired" in change.summary


def test_a_share_created_from_a_policy_is_never_changed_only_reported() -> None:
    live = resolved()
    policy_share = share(arn=SHARE_ARN[:-1] + "3", name="eum", managed=False, feature_set="CREATED_FROM_POLICY",
                         detailed=False, principals={}, resources={}, permissions=())
    live.shares = [policy_share]
    area = SharesArea()
    # The policy's share "eum" is created beside it; the policy-created one is neither picked nor deleted.
    assert [(c.action, c.key) for c in area.diff(desired(spec()), live)] == [("create", "shares/eum")]
    assert area.diff(desired(prune=frozenset({"shares"})), live) == []
    [item] = area.unmanaged(desired(prune=frozenset({"shares"})), live)
    assert item["id"] == policy_share.arn and "CREATED_FROM_POLICY" in item["detail"]
