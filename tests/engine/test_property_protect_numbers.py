"""Property: for random live and desired states of protect and phone numbers, one apply makes
live match the policy, the next plan is empty, and only planned steps ran."""

from __future__ import annotations

from typing import Any

from engine_support import Harness, policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.areas.phone_numbers.spec import PhoneNumberSpec
from reconciler.areas.protect.spec import (
    CapabilityRules,
    ConfigurationSetSpec,
    EmergencyBlock,
    NumberOverrideSpec,
    ProtectConfigurationSpec,
)
from reconciler.guard import GuardOptions

COUNTRIES = ("AU", "GB", "NG", "US")
STATUSES = ("ALLOW", "BLOCK", "MONITOR", "FILTER")
NAMES = ("a", "b", "c")
CONFIG_SETS = ("tx", "mkt")
NUMBERS = ("+61491570156", "+61491570157", "+447700900123")
OWNED = {"Key": "managed-by", "Value": "sms-policy-reconciler"}

rules_map = st.dictionaries(st.sampled_from(COUNTRIES), st.sampled_from(STATUSES), max_size=3)
live_config = st.fixed_dictionaries(
    {
        "owned": st.booleans(),
        "default": st.booleans(),
        "protected": st.booleans(),
        "rules": st.dictionaries(st.sampled_from(("SMS", "VOICE")), rules_map, max_size=2),
        "overrides": st.dictionaries(st.sampled_from(NUMBERS), st.sampled_from(("ALLOW", "BLOCK")), max_size=2),
        "sets": st.lists(st.sampled_from(CONFIG_SETS), unique=True, max_size=2),
    }
)
live_configs = st.dictionaries(st.sampled_from((*NAMES, "legacy")), live_config, max_size=3)


@st.composite
def capability_rules(draw: Any) -> CapabilityRules:
    default = draw(st.sampled_from(STATUSES))
    exceptions = draw(rules_map)
    return CapabilityRules(default, {c: s for c, s in exceptions.items() if s != default})


@st.composite
def desired_state(draw: Any) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    default = draw(st.sampled_from([None, *names]))
    free_sets = list(CONFIG_SETS)
    specs = []
    for name in sorted(names):
        chosen = draw(st.lists(st.sampled_from(free_sets), unique=True, max_size=1)) if free_sets else []
        free_sets = [s for s in free_sets if s not in chosen]
        overrides = draw(st.dictionaries(st.sampled_from(NUMBERS), st.sampled_from(("ALLOW", "BLOCK")), max_size=2))
        specs.append(
            ProtectConfigurationSpec(
                name=name,
                rules=draw(st.dictionaries(st.sampled_from(("SMS", "VOICE")), capability_rules(), max_size=2)),
                account_default=name == default,
                deletion_protection=draw(st.sampled_from((None, True, False))),
                configuration_sets=tuple(chosen),
                number_overrides=tuple(NumberOverrideSpec(n, a, "2027-01-01T00:00:00Z") for n, a in sorted(overrides.items())),
            )
        )
    # Emergency blocks need an account default (refused without one: see test_safety_protect.py).
    blocks = draw(st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=2)) if default is not None else []
    return {
        "protect_configurations": tuple(specs),
        "configuration_sets": tuple(ConfigurationSetSpec(s) for s in CONFIG_SETS),
        "emergency_blocks": tuple(EmergencyBlock(c, ("SMS",)) for c in blocks),
        "prune": frozenset({"protect"}) if draw(st.booleans()) else frozenset(),
    }


numbers_state = st.lists(
    st.fixed_dictionaries(
        {
            "pooled": st.booleans(),
            "live_protected": st.booleans(),
            "want_international": st.sampled_from((None, True, False)),
            "want_protected": st.sampled_from((None, True, False)),
        }
    ),
    min_size=0,
    max_size=3,
)


def seed(harness: Harness, configs: dict[str, Any], numbers: list[dict[str, Any]]) -> list[PhoneNumberSpec]:
    client = harness.client()
    for name in CONFIG_SETS:
        client.create_configuration_set(ConfigurationSetName=name)
    taken: set[str] = set()
    for name, spec in sorted(configs.items()):
        tags = [{"Key": "Name", "Value": name}] + ([OWNED] if spec["owned"] else [])
        created = client.create_protect_configuration(Tags=tags, DeletionProtectionEnabled=spec["protected"])
        pid = created["ProtectConfigurationId"]
        for capability, rules in spec["rules"].items():
            if rules:
                client.update_protect_configuration_country_rule_set(
                    ProtectConfigurationId=pid, NumberCapability=capability,
                    CountryRuleSetUpdates={c: {"ProtectStatus": s} for c, s in rules.items()},
                )
        for number, action in spec["overrides"].items():
            client.put_protect_configuration_rule_set_number_override(
                ProtectConfigurationId=pid, DestinationPhoneNumber=number, Action=action
            )
        for cs in spec["sets"]:
            if cs not in taken:
                taken.add(cs)
                client.associate_protect_configuration(ProtectConfigurationId=pid, ConfigurationSetName=cs)
        if spec["default"]:
            client.set_account_default_protect_configuration(ProtectConfigurationId=pid)
    pool_id = None
    specs = []
    for entry in numbers:
        number = client.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL", NumberCapabilities=["SMS"],
                                             NumberType="TOLL_FREE", DeletionProtectionEnabled=entry["live_protected"])
        if entry["pooled"]:
            if pool_id is None:
                # A pool always keeps a member the policy does not touch, so juggling is allowed.
                anchor = client.request_phone_number(IsoCountryCode="US", MessageType="TRANSACTIONAL",
                                                     NumberCapabilities=["SMS"], NumberType="TOLL_FREE")
                pool_id = client.create_pool(OriginationIdentity=anchor["PhoneNumberId"], IsoCountryCode="US",
                                             MessageType="TRANSACTIONAL")["PoolId"]
            client.associate_origination_identity(PoolId=pool_id, OriginationIdentity=number["PhoneNumberId"],
                                                  IsoCountryCode="US")
        specs.append(PhoneNumberSpec(number["PhoneNumber"], entry["want_international"], None, entry["want_protected"]))
    return specs


def rules_now(client: Any, pid: str, capability: str) -> dict[str, str]:
    answer = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=pid, NumberCapability=capability)
    return {c: r["ProtectStatus"] for c, r in answer["CountryRuleSet"].items()}


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(configs=live_configs, desired=desired_state(), numbers=numbers_state)
def test_one_apply_converges_and_runs_only_planned_steps(configs: dict[str, Any], desired: dict[str, Any],
                                                           numbers: list[dict[str, Any]]) -> None:
    harness = Harness()
    number_specs = seed(harness, configs, numbers)
    p = policy(**desired, phone_numbers=tuple(number_specs))
    planned = harness.plan(p)
    guard = GuardOptions(force=True, allow_pool_juggling=True, max_deletions=100, max_deletion_percent=100,
                         max_removals=100, max_removal_percent=100)
    result = harness.apply(p, guard=guard)
    assert result.ok, (result.failed, result.error, [c.key for c in result.residue], result.refused)
    assert sorted(c.key for c in result.applied) == sorted(c.key for c in planned.changes)
    assert harness.plan(p).changes == []

    # Live matches the policy, checked through the API.
    client = harness.client()
    live = client.describe_protect_configurations()["ProtectConfigurations"]
    by_name = {}
    for item in live:
        tags = {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceArn=item["ProtectConfigurationArn"])["Tags"]}
        by_name.setdefault(tags.get("Name"), []).append((item, tags))
    blocked = {b.country for b in desired["emergency_blocks"]}
    for spec in desired["protect_configurations"]:
        [(item, tags)] = by_name[spec.name]
        # Created by the apply, or owned before: tagged. Adopting an untagged one is not a change,
        # so it stays untagged (an imported policy plans to zero changes).
        owned_before = spec.name in configs and configs[spec.name]["owned"]
        assert ("managed-by" in tags) == (spec.name not in configs or owned_before)
        pid = item["ProtectConfigurationId"]
        assert item["AccountDefault"] == spec.account_default
        if spec.deletion_protection is not None:
            assert item["DeletionProtectionEnabled"] == spec.deletion_protection
        for capability, rules in spec.rules.items():
            current = rules_now(client, pid, capability)
            for country in COUNTRIES:
                want = "BLOCK" if capability == "SMS" and country in blocked else rules.status(country)
                assert current.get(country, "ALLOW") == want
        for country in blocked:
            assert rules_now(client, pid, "SMS").get(country) == "BLOCK"
    names = {spec.name for spec in desired["protect_configurations"]}
    for name, entries in by_name.items():
        if name not in names:
            # Only what the policy does not own survives, and only without prune.
            assert "protect" not in desired["prune"]
            assert all("managed-by" not in tags for _, tags in entries)
    for spec in number_specs:
        [item] = [n for n in client.describe_phone_numbers()["PhoneNumbers"] if n["PhoneNumber"] == spec.ref]
        if spec.international_sending is not None:
            assert item["InternationalSendingEnabled"] == spec.international_sending
        if spec.deletion_protection is not None:
            assert item["DeletionProtectionEnabled"] == spec.deletion_protection
