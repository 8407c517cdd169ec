"""An apply that would exceed the account's protect-configuration quota stops before it creates
anything: configurations the policy does not manage count toward AWS's quota of 25 per account and
Region, which ``reconciler validate`` cannot see. (Before this check the sandbox refused the 26th
CreateProtectConfiguration half-way through the apply, after the first ones were created.)"""

from __future__ import annotations

import dataclasses

import pytest
from engine_support import Harness, policy

from reconciler.areas.protect.spec import ProtectConfigurationSpec
from reconciler.config.model import TargetQuotas
from reconciler.guard import GuardError


@pytest.fixture
def harness() -> Harness:
    return Harness()


def _fill(harness: Harness, count: int) -> None:
    client = harness.client()
    for index in range(count):
        client.create_protect_configuration(Tags=[{"Key": "Name", "Value": f"by-hand-{index:02d}"}])


def test_creations_over_the_quota_are_refused_before_any_is_made(harness: Harness) -> None:
    _fill(harness, 23)  # made outside the policy
    wanted = tuple(ProtectConfigurationSpec(name=f"new-{index}") for index in range(3))
    p = policy(protect_configurations=wanted)
    plan = harness.plan(p)
    creations = [c for c in plan.changes if c.resource_type == "protect-configuration" and c.action == "create"]
    assert len(creations) == 3 and all("blocked" in c.flags for c in creations)
    assert "has 23 protect configurations" in creations[0].data["reason"]
    assert "quota of 25" in creations[0].data["reason"]
    with pytest.raises(GuardError) as excinfo:
        harness.apply(p)
    assert "protect/new-0: the account has 23 protect configurations" in excinfo.value.message
    assert len(harness.state().protect_configurations) == 23  # nothing was created
    # Two fit: the plan is not blocked and the apply converges.
    fitting = policy(protect_configurations=wanted[:2])
    assert not any("blocked" in c.flags for c in harness.plan(fitting).changes)
    assert harness.apply(fitting).ok
    assert len(harness.state().protect_configurations) == 25


def test_a_raised_quota_on_the_target_lets_the_apply_through(harness: Harness) -> None:
    _fill(harness, 25)
    harness.sandbox.world.settings["quota.protect_configurations"] = 26  # AWS raised it
    p = policy(protect_configurations=(ProtectConfigurationSpec(name="extra"),))
    assert any("blocked" in c.flags for c in harness.plan(p).changes)
    target = dataclasses.replace(p.targets["prod"], quotas=TargetQuotas(protect_configurations=26))
    raised = dataclasses.replace(
        p, targets={"prod": target}, desired={"prod": dataclasses.replace(p.desired["prod"], target=target)}
    )
    assert harness.apply(raised).ok
    assert len(harness.state().protect_configurations) == 26
