"""The shares area against the in-process sandbox (RAM and sms-voice handlers)."""

from __future__ import annotations

from typing import Any

import pytest
from area_support import ACCOUNT, calls

from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.areas.shares.area import SharesArea
from reconciler.areas.shares.spec import ResourceRef, ShareSpec
from reconciler.aws import Api
from reconciler.cli import UserError
from reconciler.config.model import Desired, Source, Target
from reconciler.plan import Change
from reconciler.sandbox import Sandbox

ORG_ID = "o-abcdefghij"
ORG = f"arn:aws:organizations::111111111111:organization/{ORG_ID}"
MEMBER = "222222222222"
OUTSIDER = "999999999999"


@pytest.fixture
def org(sandbox: Sandbox) -> Sandbox:
    sandbox.world.organization = {ACCOUNT: ORG_ID, MEMBER: ORG_ID}
    sandbox.world.settings["ram.association_delay"] = 60.0  # associations stay ASSOCIATING a while
    return sandbox


def plan(api: Api, desired: Desired) -> tuple[SharesArea, list[Change]]:
    area = SharesArea()
    return area, sorted(area.diff(desired, area.read(api, desired)), key=Change.sort_key)


def apply(api: Api, desired: Desired) -> list[Change]:
    area, changes = plan(api, desired)
    for change in changes:
        area.apply(api, change)
    return changes


def new_number(sms: Any) -> dict[str, Any]:
    return dict(
        sms.request_phone_number(
            IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"], NumberType="TOLL_FREE"
        )
    )


def associations(ram: Any, share_arn: str, kind: str) -> dict[str, str]:
    items = ram.get_resource_share_associations(associationType=kind, resourceShareArns=[share_arn])
    return {a["associatedEntity"]: a["status"] for a in items["resourceShareAssociations"] if a["status"] != "DISASSOCIATED"}


def the_share(ram: Any, name: str) -> dict[str, Any]:
    shares = [s for s in ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus="ACTIVE")["resourceShares"] if s["name"] == name]
    assert len(shares) == 1
    return dict(shares[0])


def test_create_then_plan_is_empty_while_associations_settle(org: Sandbox, api: Api, sms: Any, target: Target) -> None:
    ram = org.client("ram", ACCOUNT)
    first, second = new_number(sms), new_number(sms)
    pool = sms.create_pool(OriginationIdentity=first["PhoneNumberId"], IsoCountryCode="US", MessageType="TRANSACTIONAL",
                           Tags=[{"Key": "Name", "Value": "tx"}])
    desired = Desired(
        target,
        organization_arn=ORG,
        opt_out_lists=(OptOutListSpec("shared-optouts"),),
        shares=(
            ShareSpec(
                "eum",
                principals=(MEMBER,),
                resources=(
                    ResourceRef("pool", "tx"),
                    ResourceRef("phone_number", first["PhoneNumber"]),
                    ResourceRef("phone_number", second["PhoneNumberId"]),
                ),
            ),
        ),
    )
    changes = apply(api, desired)
    assert [(c.action, c.key) for c in changes] == [("create", "shares/eum")]
    share = the_share(ram, "eum")
    assert {t["key"]: t["value"] for t in share["tags"]}["managed-by"] == "sms-policy-reconciler"
    resources = associations(ram, share["resourceShareArn"], "RESOURCE")
    assert set(resources) == {pool["PoolArn"], first["PhoneNumberArn"], second["PhoneNumberArn"]}
    assert set(resources.values()) == {"ASSOCIATING"}
    assert plan(api, desired)[1] == []  # ASSOCIATING counts as converged
    org.world.clock.advance(120)
    assert set(associations(ram, share["resourceShareArn"], "RESOURCE").values()) == {"ASSOCIATED"}
    assert plan(api, desired)[1] == []


def test_membership_changes_converge(org: Sandbox, api: Api, sms: Any, target: Target) -> None:
    ram = org.client("ram", ACCOUNT)
    first, second = new_number(sms), new_number(sms)
    def desired(principals: tuple[str, ...], numbers: tuple[dict[str, Any], ...], external: bool = False) -> Desired:
        refs = tuple(ResourceRef("phone_number", n["PhoneNumberId"]) for n in numbers)
        return Desired(target, organization_arn=ORG,
                       shares=(ShareSpec("eum", principals, external, resources=refs),))
    apply(api, desired((MEMBER,), (first,)))
    org.world.clock.advance(120)
    wanted = desired((MEMBER, OUTSIDER), (second,), external=True)
    area, changes = plan(api, wanted)
    flagged = {c.key for c in changes if "external-principals" in c.flags}
    assert flagged == {"shares/eum", f"shares/eum/principal/{OUTSIDER}"}
    for change in changes:
        area.apply(api, change)
    share = the_share(ram, "eum")
    assert share["allowExternalPrincipals"] is True
    assert set(associations(ram, share["resourceShareArn"], "PRINCIPAL")) >= {MEMBER, OUTSIDER}
    resources = associations(ram, share["resourceShareArn"], "RESOURCE")
    assert resources.get(second["PhoneNumberArn"]) in {"ASSOCIATING", "ASSOCIATED"}
    assert resources.get(first["PhoneNumberArn"]) in {None, "DISASSOCIATING"}
    assert plan(api, wanted)[1] == []
    # Back inside the organization: the outsider leaves before external principals are disallowed.
    org.world.clock.advance(120)
    back = desired((MEMBER,), (second,))
    apply(api, back)
    org.world.clock.advance(120)
    assert the_share(ram, "eum")["allowExternalPrincipals"] is False
    assert plan(api, back)[1] == []


def test_managed_share_removed_from_policy_is_deleted(org: Sandbox, api: Api, sms: Any, target: Target) -> None:
    ram = org.client("ram", ACCOUNT)
    number = new_number(sms)
    apply(api, Desired(target, shares=(ShareSpec("eum", (MEMBER,), resources=(ResourceRef("phone_number", number["PhoneNumberId"]),)),)))
    ram.create_resource_share(name="by-hand", principals=[MEMBER])
    area, changes = plan(api, Desired(target))
    assert [(c.action, c.key) for c in changes] == [("delete", "shares/eum")]
    assert [u["name"] for u in area.unmanaged(Desired(target), area.read(api, Desired(target)))] == ["by-hand"]
    for change in changes:
        area.apply(api, change)
    names = {s["name"] for s in ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus="ACTIVE")["resourceShares"]}
    assert names == {"by-hand"}


def test_unresolved_references_name_their_yaml_source(org: Sandbox, api: Api, target: Target) -> None:
    refs = (
        ResourceRef("pool", "pool-0123456789abcdef", Source("config/shares.yaml", 9, 11)),
        ResourceRef("sender_id", "ACME/GB", Source("config/shares.yaml", 10, 11)),
        ResourceRef("opt_out_list", "nowhere", Source("config/shares.yaml", 11, 11)),
    )
    desired = Desired(target, shares=(ShareSpec("eum", (MEMBER,), resources=refs),))
    with pytest.raises(UserError) as error:
        plan(api, desired)
    for where in ("config/shares.yaml:9:11", "config/shares.yaml:10:11", "config/shares.yaml:11:11"):
        assert where in error.value.message


def test_pool_and_list_members_missing_from_the_share_are_reported(org: Sandbox, api: Api, sms: Any, target: Target) -> None:
    first, second = new_number(sms), new_number(sms)
    pool = sms.create_pool(OriginationIdentity=first["PhoneNumberId"], IsoCountryCode="US", MessageType="TRANSACTIONAL")
    sms.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=second["PhoneNumberId"], IsoCountryCode="US")
    sms.create_opt_out_list(OptOutListName="shared")
    sms.update_pool(PoolId=pool["PoolId"], OptOutListName="shared")
    refs = (ResourceRef("pool", pool["PoolId"], Source("config/shares.yaml", 4, 5)), ResourceRef("opt_out_list", "shared"),
            ResourceRef("phone_number", first["PhoneNumberId"]))
    desired = Desired(target, shares=(ShareSpec("eum", (MEMBER,), resources=refs),))
    area = SharesArea()
    live = area.read(api, desired)
    warnings = area.warnings(desired, live)
    # The pool lacks its second member; the list is used by the pool's numbers, so it lacks it too.
    assert [w.split(" is shared")[0] for w in warnings] == [
        "share eum: opt out list shared",
        f"share eum: pool {pool['PoolId']}",
    ]
    assert all(second["PhoneNumberId"] in w for w in warnings)
    assert "config/shares.yaml:4:5" in warnings[1]
    complete = Desired(target, shares=(ShareSpec("eum", (MEMBER,), resources=(*refs, ResourceRef("phone_number", second["PhoneNumberId"]))),))
    assert area.warnings(complete, area.read(api, complete)) == []
    assert calls(org, "ListPoolOriginationIdentities") >= 1
