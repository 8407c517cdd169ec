"""The protect effect model: AWS's precedence (request, configuration set, account default;
number override before country rule), checked against the sandbox's SendTextMessage."""

from __future__ import annotations

import datetime as dt

from botocore.exceptions import ClientError
from engine_support import Harness, policy

from reconciler.areas.protect.area import ProtectArea
from reconciler.areas.protect.spec import EmergencyBlock
from reconciler.effects.protect_paths import NO_PROTECTION, UNKNOWN, country_status, number_status, send_paths

NOW = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def test_paths_follow_request_then_configuration_set_then_account_default_as_the_sandbox_sends(harness: Harness) -> None:
    sms = harness.client()
    default = sms.create_protect_configuration()["ProtectConfigurationId"]
    own = sms.create_protect_configuration()["ProtectConfigurationId"]
    sms.set_account_default_protect_configuration(ProtectConfigurationId=default)
    sms.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=default, NumberCapability="SMS", CountryRuleSetUpdates={"NG": {"ProtectStatus": "BLOCK"}})
    sms.put_protect_configuration_rule_set_number_override(
        ProtectConfigurationId=default, DestinationPhoneNumber="+2348031234567", Action="ALLOW")
    for name in ("bare", "own"):
        sms.create_configuration_set(ConfigurationSetName=name)
    sms.associate_protect_configuration(ProtectConfigurationId=own, ConfigurationSetName="own")
    live = ProtectArea().read(harness.engine(policy()).start("prod").api, policy().desired["prod"])
    for config in live.configurations:  # what an emergency read holds: SMS rules and the overrides
        config.rules = {"SMS": harness.state().protect_configurations[config.id].rules.get("SMS", {})}
        config.overrides = {n: {"action": o.action, "expires": None}
                            for n, o in harness.state().protect_configurations[config.id].number_overrides.items()}

    paths = {(p.kind, p.name): p for p in send_paths(live)}
    assert paths[("no-configuration-set", "")].configuration == default
    assert paths[("configuration-set", "bare")].configuration == default
    assert paths[("configuration-set", "own")].configuration == own
    assert paths[("request", own)].configuration == own

    def sent(number: str, **params: str) -> bool:
        try:
            sms.send_text_message(DestinationPhoneNumber=number, MessageBody="x", DryRun=True, **params)
        except ClientError:
            return False
        return True

    cases = [(("no-configuration-set", ""), {}), (("configuration-set", "bare"), {"ConfigurationSetName": "bare"}),
             (("configuration-set", "own"), {"ConfigurationSetName": "own"}),
             (("request", own), {"ConfigurationSetName": "bare", "ProtectConfigurationId": own})]
    for key, params in cases:
        path = paths[key]
        assert (country_status(live, path, "SMS", "NG") != "BLOCK") == sent("+2348039999999", **params), key
        # The ALLOW override on the default lets its one number through a blocked country.
        assert (number_status(live, path, "SMS", "+2348031234567", "NG", NOW) != "BLOCK") == sent("+2348031234567", **params)
    assert country_status(live, paths[("configuration-set", "own")], "VOICE", "NG") == UNKNOWN


def test_a_path_without_any_protect_configuration_is_unprotected(harness: Harness) -> None:
    harness.client().create_configuration_set(ConfigurationSetName="bare")
    blocking = policy(emergency_blocks=(EmergencyBlock("NG", ("SMS",)),))
    live = ProtectArea().read(harness.engine(blocking).start("prod").api, blocking.desired["prod"])
    assert [country_status(live, p, "SMS", "NG") for p in send_paths(live)] == [NO_PROTECTION, NO_PROTECTION]
