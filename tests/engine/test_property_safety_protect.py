"""Property: whenever apply succeeds, every emergency-blocked country is refused on every send path.

Adversarial live states (duplicate names, unmanaged and unnamed configurations, configuration
sets without protect, a default or none) meet policies with emergency blocks, prune on or off.
The oracle is the sandbox's SendTextMessage, which knows nothing of the reconciler's model.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from engine_support import Harness, policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.areas.protect.area import MANAGED_BY_TAG, MANAGED_BY_VALUE
from reconciler.areas.protect.spec import (
    CapabilityRules,
    ConfigurationSetSpec,
    EmergencyBlock,
    ProtectConfigurationSpec,
)
from reconciler.cli import UserError

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

DESTINATIONS = {"NG": "+2348031234567", "GH": "+233241234567", "AU": "+61491570156"}
STATUSES = ("ALLOW", "MONITOR", "FILTER", "BLOCK")
SETS = ("tx", "mkt")

live_configuration = st.fixed_dictionaries({
    "name": st.sampled_from(("prod", "legacy", None)),
    "owned": st.booleans(),
    "sms": st.dictionaries(st.sampled_from(sorted(DESTINATIONS)), st.sampled_from(STATUSES), max_size=2),
})


@st.composite
def scenario(draw: Any) -> dict[str, Any]:
    configs = draw(st.lists(live_configuration, max_size=3))
    default = draw(st.sampled_from([None, *range(len(configs))]))
    sets = {name: draw(st.sampled_from([None, *range(len(configs))])) for name in SETS}
    blocks = draw(st.lists(st.sampled_from(sorted(DESTINATIONS)), min_size=1, max_size=2, unique=True))
    declared = draw(st.sampled_from(("none", "prod", "prod-default")))
    return {"configs": configs, "default": default, "sets": sets, "blocks": blocks, "declared": declared,
            "managed_set": draw(st.sampled_from((None, *SETS))), "prune": draw(st.booleans())}


def seed(harness: Harness, world: dict[str, Any]) -> None:
    sms = harness.client()
    ids = []
    for config in world["configs"]:
        tags = ([{"Key": "Name", "Value": config["name"]}] if config["name"] else []) + (
            [{"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}] if config["owned"] else [])
        pid = sms.create_protect_configuration(Tags=tags)["ProtectConfigurationId"]
        if config["sms"]:
            sms.update_protect_configuration_country_rule_set(
                ProtectConfigurationId=pid, NumberCapability="SMS",
                CountryRuleSetUpdates={c: {"ProtectStatus": s} for c, s in config["sms"].items()})
        ids.append(pid)
    if world["default"] is not None:
        sms.set_account_default_protect_configuration(ProtectConfigurationId=ids[world["default"]])
    for name, index in world["sets"].items():
        sms.create_configuration_set(ConfigurationSetName=name)
        if index is not None:
            sms.associate_protect_configuration(ProtectConfigurationId=ids[index], ConfigurationSetName=name)


def desired(world: dict[str, Any]) -> Any:
    specs: tuple[ProtectConfigurationSpec, ...] = ()
    if world["declared"] != "none":
        specs = (ProtectConfigurationSpec("prod", rules={"SMS": CapabilityRules("ALLOW")},
                                          account_default=world["declared"] == "prod-default"),)
    sets = (ConfigurationSetSpec(world["managed_set"], "prod"),) if world["managed_set"] and specs else ()
    return policy(protect_configurations=specs, configuration_sets=sets,
                  emergency_blocks=tuple(EmergencyBlock(c, ("SMS",)) for c in world["blocks"]),
                  prune=frozenset({"protect"}) if world["prune"] else frozenset())


def refused(sms: Any, number: str, **params: Any) -> str | None:
    try:
        sms.send_text_message(DestinationPhoneNumber=number, MessageBody="otp", DryRun=True, **params)
    except ClientError as error:
        return str(error.response.get("Reason"))
    return None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=scenario())
def test_a_successful_apply_blocks_every_emergency_country_on_every_send_path(world: dict[str, Any]) -> None:
    harness = Harness()
    seed(harness, world)
    try:
        result = harness.apply(desired(world))
    except UserError as error:  # refused before writing: an ambiguity or a path without protection
        assert "unclear" in error.message or "account default" in (error.hint or ""), error.message
        return
    if not result.ok:
        assert result.refused or result.not_in_force, (result.failed, result.error)
        return
    sms = harness.client()
    paths: list[dict[str, str]] = [{}]
    paths += [{"ConfigurationSetName": name} for name in SETS]
    paths += [{"ProtectConfigurationId": c["ProtectConfigurationId"]}
              for c in sms.describe_protect_configurations()["ProtectConfigurations"]]
    for country in world["blocks"]:
        for params in paths:
            assert refused(sms, DESTINATIONS[country], **params) == "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION", (
                country, params)
