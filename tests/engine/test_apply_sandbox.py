"""Plan -> apply -> verify against the in-process sandbox, through the engine's Python API."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from engine_support import ACCOUNT, OTHER_ACCOUNT, Harness, policy, replace

from reconciler.apply import StalePlan
from reconciler.areas.phone_numbers.spec import PhoneNumberSpec
from reconciler.areas.protect.area import ProtectArea
from reconciler.areas.protect.spec import (
    CapabilityRules,
    ConfigurationSetSpec,
    EmergencyBlock,
    NumberOverrideSpec,
    ProtectConfigurationSpec,
)
from reconciler.aws import SandboxSessionFactory
from reconciler.config.model import Policy
from reconciler.engine import AccountMismatch, Engine
from reconciler.guard import GuardError, GuardOptions

AU = "+61491570156"
AU_TEST_HANDSET = "+61491570157"
GB = "+447700900123"
US = "+12065550100"


def protect_policy(**overrides: Any) -> Any:
    spec = ProtectConfigurationSpec(
        name="prod",
        rules={
            "SMS": CapabilityRules("ALLOW", {"AU": "BLOCK", "NG": "MONITOR"}),
            "VOICE": CapabilityRules("BLOCK", {"US": "ALLOW", "GB": "ALLOW"}),
        },
        account_default=True,
        deletion_protection=True,
        configuration_sets=("tx",),
        number_overrides=(NumberOverrideSpec(AU_TEST_HANDSET, "ALLOW", "2026-12-31T00:00:00Z"),),
    )
    values: dict[str, Any] = {"protect_configurations": (spec,), "configuration_sets": (ConfigurationSetSpec("tx"),)}
    values.update(overrides)
    return policy(**values)


def send_error(client: Any, destination: str, **kwargs: Any) -> str | None:
    try:
        client.send_text_message(DestinationPhoneNumber=destination, MessageBody="hi", **kwargs)
    except client.exceptions.ConflictException as error:
        return str(error.response.get("Reason"))
    return None


def test_protect_plan_apply_then_plan_is_empty_and_sends_follow_the_policy(harness: Harness) -> None:
    client = harness.client()
    client.create_configuration_set(ConfigurationSetName="tx")
    client.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS", "VOICE"],
                                NumberType="TOLL_FREE")
    p = protect_policy()
    plan = harness.plan(p)
    assert {c.key for c in plan.changes} >= {"protect/prod", "protect/prod/rules/SMS/block", "protect/prod/account-default"}
    result = harness.apply(p)
    assert result.ok, result
    assert harness.plan(p).changes == []
    # Live behaviour, checked through the API: AU is blocked for SMS, GB is not, the override wins.
    assert send_error(client, AU, ConfigurationSetName="tx") == "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"
    assert send_error(client, AU) == "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"  # account default
    assert send_error(client, GB, ConfigurationSetName="tx") is None
    assert send_error(client, AU_TEST_HANDSET) is None
    configs = client.describe_protect_configurations()["ProtectConfigurations"]
    assert [(c["AccountDefault"], c["DeletionProtectionEnabled"]) for c in configs] == [(True, True)]


def test_saved_plan_is_refused_when_live_state_changed(harness: Harness) -> None:
    harness.client().create_configuration_set(ConfigurationSetName="tx")
    p = protect_policy()
    assert harness.apply(p).ok
    changed = replace(p, emergency_blocks=(EmergencyBlock("FR", ("SMS",)),))
    saved = harness.plan(changed)
    config_id = harness.client().describe_protect_configurations()["ProtectConfigurations"][0]["ProtectConfigurationId"]
    harness.client().update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id, NumberCapability="SMS", CountryRuleSetUpdates={"DE": {"ProtectStatus": "BLOCK"}}
    )
    with pytest.raises(StalePlan) as excinfo:
        harness.apply(changed, expected=saved)
    assert "live state of protect changed" in excinfo.value.message
    assert send_error(harness.client(), "+33612345678") is None  # nothing was applied


def test_saved_plan_is_refused_when_the_policy_changed(harness: Harness) -> None:
    harness.client().create_configuration_set(ConfigurationSetName="tx")
    p = protect_policy()
    saved = harness.plan(p)
    other = replace(p, emergency_blocks=(EmergencyBlock("FR", ("SMS",)),))
    with pytest.raises(StalePlan) as excinfo:
        harness.apply(other, expected=saved)
    assert "no longer matches the policy" in excinfo.value.message
    assert harness.client().describe_protect_configurations()["ProtectConfigurations"] == []


def test_saved_plan_applies_when_fresh(harness: Harness) -> None:
    harness.client().create_configuration_set(ConfigurationSetName="tx")
    p = protect_policy()
    saved = harness.plan(p)
    result = harness.apply(p, expected=saved)
    assert result.ok and {c.key for c in result.applied} == {c.key for c in saved.changes}


def test_credentials_of_another_account_are_refused_before_any_read(harness: Harness) -> None:
    class WrongAccount(SandboxSessionFactory):
        def base_session(self, account_id: str, region: str) -> Any:
            return self._session(OTHER_ACCOUNT, region)

    engine = Engine(protect_policy(), WrongAccount(harness.sandbox), rate_scale=0)
    with pytest.raises(AccountMismatch) as excinfo:
        engine.start("prod")
    assert f"is account {ACCOUNT}, but the credentials belong to account {OTHER_ACCOUNT}" in excinfo.value.message
    assert [c.operation for c in harness.sandbox.calls] == ["GetCallerIdentity"]


def test_deletion_thresholds_and_force_stop_apply_with_named_overrides(harness: Harness) -> None:
    client = harness.client()
    for index in range(12):
        client.create_protect_configuration(
            Tags=[{"Key": "Name", "Value": f"old-{index:02d}"}, {"Key": "managed-by", "Value": "sms-policy-reconciler"}],
            DeletionProtectionEnabled=index == 0,
        )
    p = policy()
    with pytest.raises(GuardError) as excinfo:
        harness.apply(p)
    message = excinfo.value.message
    assert "protect: 12 deletions exceed the limit of 10; rerun with --max-deletions 12" in message
    assert "protect: 12 of 12 (100.0%) deletions exceed the limit of 25%; rerun with --max-deletion-percent 101" in message
    assert "always need --force: protect/old-00/deletion-protection" in message
    assert len(client.describe_protect_configurations()["ProtectConfigurations"]) == 12
    result = harness.apply(p, guard=GuardOptions(force=True, max_deletions=12, max_deletion_percent=100))
    assert result.ok
    assert client.describe_protect_configurations()["ProtectConfigurations"] == []


def test_failed_apply_reports_what_was_and_was_not_done_and_a_rerun_converges(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.client().create_configuration_set(ConfigurationSetName="tx")
    p = protect_policy()
    original = ProtectArea.apply
    calls = {"n": 0}

    def crash_on_fourth(self: ProtectArea, api: Any, change: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise ConnectionError("connection reset")
        original(self, api, change)

    monkeypatch.setattr(ProtectArea, "apply", crash_on_fourth)
    result = harness.apply(p)
    assert not result.ok and result.failed is not None
    assert len(result.applied) == 3 and result.not_done
    assert "ConnectionError: connection reset" in (result.error or "")
    monkeypatch.setattr(ProtectArea, "apply", original)
    assert harness.apply(p).ok
    assert harness.plan(p).changes == []


def test_verification_fails_loudly_when_a_change_did_not_stick(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    harness.client().create_configuration_set(ConfigurationSetName="tx")
    p = protect_policy()
    original = ProtectArea.apply

    def forget_rules(self: ProtectArea, api: Any, change: Any) -> None:
        if change.resource_type != "country-rules":
            original(self, api, change)

    monkeypatch.setattr(ProtectArea, "apply", forget_rules)
    result = harness.apply(p)
    assert not result.ok
    assert {c.key for c in result.residue} == {
        "protect/prod/rules/SMS/block", "protect/prod/rules/SMS", "protect/prod/rules/VOICE/block",
    }


def _pool_with(harness: Harness, members: int) -> tuple[str, list[dict[str, Any]]]:
    client = harness.client()
    numbers = [
        client.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                    NumberType="TOLL_FREE")
        for _ in range(members)
    ]
    pool = client.create_pool(OriginationIdentity=numbers[0]["PhoneNumberId"], IsoCountryCode="US",
                              MessageType="TRANSACTIONAL")
    for number in numbers[1:]:
        client.associate_origination_identity(PoolId=pool["PoolId"], OriginationIdentity=number["PhoneNumberId"],
                                              IsoCountryCode="US")
    return pool["PoolId"], numbers


def test_pooled_number_needs_the_juggling_flag_and_rejoins_its_pool(harness: Harness) -> None:
    pool_id, numbers = _pool_with(harness, 2)
    target = numbers[0]
    p = policy(phone_numbers=(PhoneNumberSpec(target["PhoneNumber"], international_sending=True),))
    plan = harness.plan(p)
    [change] = plan.changes
    assert change.data["steps"] == [f"leave pool {pool_id}", "update", f"rejoin pool {pool_id}"]
    with pytest.raises(GuardError) as excinfo:
        harness.apply(p)
    assert "--allow-pool-juggling" in excinfo.value.message
    assert harness.apply(p, guard=GuardOptions(allow_pool_juggling=True)).ok
    live = harness.client().describe_phone_numbers(PhoneNumberIds=[target["PhoneNumberId"]])["PhoneNumbers"][0]
    assert live["InternationalSendingEnabled"] is True and live["PoolId"] == pool_id
    assert harness.plan(p).changes == []


def test_the_last_number_of_a_pool_is_never_taken_out(harness: Harness) -> None:
    pool_id, numbers = _pool_with(harness, 1)
    p = policy(phone_numbers=(PhoneNumberSpec(numbers[0]["PhoneNumber"], deletion_protection=True),))
    [change] = harness.plan(p).changes
    assert "blocked" in change.flags and "only member of pool" in change.data["reason"]
    with pytest.raises(GuardError) as excinfo:
        harness.apply(p, guard=GuardOptions(allow_pool_juggling=True))
    assert f"the only member of pool {pool_id}" in excinfo.value.message


def test_international_sending_on_a_non_toll_free_number_cannot_proceed(harness: Harness) -> None:
    number = harness.client().request_phone_number(IsoCountryCode="GB", MessageType="TRANSACTIONAL",
                                                   NumberCapabilities=["SMS"], NumberType="LONG_CODE")
    p = policy(phone_numbers=(PhoneNumberSpec(number["PhoneNumberId"], international_sending=True),))
    [change] = harness.plan(p).changes
    assert "INTERNATIONAL_SENDING_NOT_SUPPORTED" in change.data["reason"]



def test_role_assumption_reaches_the_target_account_and_a_wrong_role_is_refused(harness: Harness) -> None:
    class CiAccount(SandboxSessionFactory):
        def base_session(self, account_id: str, region: str) -> Any:
            return self._session(OTHER_ACCOUNT, region)

    p = protect_policy()
    target = dataclasses.replace(p.targets["prod"], role_arn=f"arn:aws:iam::{ACCOUNT}:role/reconciler")
    with_role = Policy(p.config_dir, {"prod": target}, {"prod": dataclasses.replace(p.desired["prod"], target=target)})
    engine = Engine(with_role, CiAccount(harness.sandbox), rate_scale=0)
    run = engine.start("prod")
    assert run.api.call("sts", "GetCallerIdentity")["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/reconciler/")

    wrong = dataclasses.replace(target, role_arn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/reconciler")
    misdirected = Policy(p.config_dir, {"prod": wrong}, {"prod": dataclasses.replace(p.desired["prod"], target=wrong)})
    with pytest.raises(AccountMismatch):
        Engine(misdirected, CiAccount(harness.sandbox), rate_scale=0).start("prod")


def test_apply_converges_through_throttling_errors_and_dropped_connections() -> None:
    from reconciler.sandbox import Faults, Sandbox

    harness = Harness()
    harness.client().create_configuration_set(ConfigurationSetName="tx")
    world = harness.sandbox.world
    faults = Faults(throttle_rate=0.15, error_rate=0.1, drop_rate=0.05, drop_after_rate=0.1, seed=11,
                    operations=frozenset({"UpdateProtectConfigurationCountryRuleSet", "CreateProtectConfiguration",
                                          "AssociateProtectConfiguration", "SetAccountDefaultProtectConfiguration",
                                          "PutProtectConfigurationRuleSetNumberOverride", "DescribeProtectConfigurations"}))
    harness.sandbox = Sandbox(world=world, faults=faults)
    p = protect_policy()
    result = harness.apply(p, sleep=lambda _: None)
    assert result.ok, (result.failed, result.error, result.residue)
    assert any(call.error for call in harness.sandbox.calls), "the seed must inject faults"
    harness.sandbox = Sandbox(world=world)  # no faults for the check
    assert harness.plan(p).changes == []
    configs = harness.client().describe_protect_configurations()["ProtectConfigurations"]
    assert len(configs) == 1  # a create retried after a dropped response made no duplicate


def test_saved_plan_holds_no_raw_numbers_and_needs_the_same_plan_key(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.report.json_report import render

    harness.client().create_configuration_set(ConfigurationSetName="tx")
    p = protect_policy()
    monkeypatch.setenv("RECONCILER_PLAN_KEY", "shared-ci-secret")
    saved = harness.plan(p)
    document = render([saved])
    assert AU_TEST_HANDSET not in document and "+6149157****" in document
    assert saved.secret_digests["protect/prod/override/+6149157****"].startswith("hmac-sha256+plan-key:")
    monkeypatch.delenv("RECONCILER_PLAN_KEY")
    with pytest.raises(StalePlan) as excinfo:
        harness.apply(p, expected=saved)
    assert "RECONCILER_PLAN_KEY set" in excinfo.value.message
    monkeypatch.setenv("RECONCILER_PLAN_KEY", "shared-ci-secret")
    assert harness.apply(p, expected=saved).ok


def test_lifting_an_emergency_block_restores_unlisted_capabilities(harness: Harness) -> None:
    client = harness.client()
    client.create_configuration_set(ConfigurationSetName="tx")
    p = protect_policy()
    assert harness.apply(p).ok
    config_id = client.describe_protect_configurations()["ProtectConfigurations"][0]["ProtectConfigurationId"]
    # MMS is not in the policy; someone set GB to MONITOR by hand.
    client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id, NumberCapability="MMS", CountryRuleSetUpdates={"GB": {"ProtectStatus": "MONITOR"}}
    )

    def status(capability: str) -> str:
        answer = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config_id, NumberCapability=capability)
        return str(answer["CountryRuleSet"].get("GB", {"ProtectStatus": "ALLOW"})["ProtectStatus"])

    blocked = replace(p, emergency_blocks=(EmergencyBlock("GB", ("SMS", "VOICE", "MMS", "RCS"), "incident"),))
    plan = harness.plan(blocked)
    assert [c.key for c in plan.changes] == [
        "protect/prod/emergency-record/add",
        "protect/prod/rules/MMS/block",
        "protect/prod/rules/RCS/block",
        "protect/prod/rules/SMS/block",
        "protect/prod/rules/VOICE/block",
    ]
    assert harness.apply(blocked).ok
    assert {status(c) for c in ("SMS", "VOICE", "MMS", "RCS")} == {"BLOCK"}
    assert harness.plan(blocked).changes == []

    lifted = harness.apply(p)  # the emergency line is removed from the policy
    assert lifted.ok
    assert (status("SMS"), status("VOICE"), status("MMS"), status("RCS")) == ("ALLOW", "ALLOW", "MONITOR", "ALLOW")
    tags = client.list_tags_for_resource(ResourceArn=client.describe_protect_configurations()["ProtectConfigurations"][0][
        "ProtectConfigurationArn"])["Tags"]
    assert "reconciler:emergency-blocks" not in {t["Key"] for t in tags}
    assert harness.plan(p).changes == []
