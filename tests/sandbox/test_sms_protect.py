"""Contract tests: protect configurations, country rule sets, account default, associations, overrides."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sms_support import OWNER, REGION, START, Sandbox, error_of

from reconciler import countries

CAPABILITIES = ("SMS", "VOICE", "MMS", "RCS")


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def test_create_and_describe(sandbox: Sandbox) -> None:
    client = sandbox.client()
    created = client.create_protect_configuration(Tags=[{"Key": "Name", "Value": "CLITESTING"}])
    config_id = created["ProtectConfigurationId"]
    assert re.fullmatch(r"protect-[0-9a-f]{32}", config_id)
    assert created["ProtectConfigurationArn"] == f"arn:aws:sms-voice:{REGION}:{OWNER}:protect-configuration/{config_id}"
    assert (created["AccountDefault"], created["DeletionProtectionEnabled"]) == (False, False)
    assert created["Tags"] == [{"Key": "Name", "Value": "CLITESTING"}]
    tags = client.list_tags_for_resource(ResourceArn=created["ProtectConfigurationArn"])["Tags"]
    assert tags == [{"Key": "Name", "Value": "CLITESTING"}]
    protected = client.create_protect_configuration(DeletionProtectionEnabled=True)["ProtectConfigurationId"]
    client.set_account_default_protect_configuration(ProtectConfigurationId=config_id)

    def ids(**kwargs: object) -> list[str]:
        return sorted(c["ProtectConfigurationId"] for c in client.describe_protect_configurations(**kwargs)["ProtectConfigurations"])

    assert ids() == sorted([config_id, protected])
    assert ids(Filters=[{"Name": "account-default", "Values": ["true"]}]) == [config_id]
    assert ids(Filters=[{"Name": "deletion-protection-enabled", "Values": ["true"]}]) == [protected]
    assert ids(ProtectConfigurationIds=[created["ProtectConfigurationArn"]]) == [config_id]
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.describe_protect_configurations(ProtectConfigurationIds=["protect-" + "0" * 32])
    assert error_of(excinfo)["ResourceType"] == "protect-configuration"
    with pytest.raises(client.exceptions.ValidationException):
        client.describe_protect_configurations(Filters=[{"Name": "name", "Values": ["x"]}])


def test_new_configuration_allows_every_supported_country_for_every_capability(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config_id = client.create_protect_configuration()["ProtectConfigurationId"]
    for capability in CAPABILITIES:
        rules = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config_id, NumberCapability=capability)
        assert rules["NumberCapability"] == capability
        assert set(rules["CountryRuleSet"]) == set(countries.SUPPORTED)
        assert {r["ProtectStatus"] for r in rules["CountryRuleSet"].values()} == {"ALLOW"}


def test_rule_set_updates_are_partial_and_per_capability(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config_id = client.create_protect_configuration()["ProtectConfigurationId"]
    result = client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id, NumberCapability="SMS", CountryRuleSetUpdates={"AU": {"ProtectStatus": "BLOCK"}}
    )
    assert result["CountryRuleSet"]["AU"] == {"ProtectStatus": "BLOCK"}
    client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id,
        NumberCapability="SMS",
        CountryRuleSetUpdates={"GB": {"ProtectStatus": "MONITOR"}, "FR": {"ProtectStatus": "FILTER"}},
    )
    sms = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config_id, NumberCapability="SMS")
    changed = {cc: r["ProtectStatus"] for cc, r in sms["CountryRuleSet"].items() if r["ProtectStatus"] != "ALLOW"}
    assert changed == {"AU": "BLOCK", "GB": "MONITOR", "FR": "FILTER"}
    voice = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config_id, NumberCapability="VOICE")
    assert voice["CountryRuleSet"]["AU"] == {"ProtectStatus": "ALLOW"}
    client.update_protect_configuration_country_rule_set(
        ProtectConfigurationId=config_id, NumberCapability="SMS", CountryRuleSetUpdates={"AU": {"ProtectStatus": "ALLOW"}}
    )
    sms = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config_id, NumberCapability="SMS")
    assert sms["CountryRuleSet"]["AU"] == {"ProtectStatus": "ALLOW"}


def test_unsupported_country_is_rejected_and_nothing_changes(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config_id = client.create_protect_configuration()["ProtectConfigurationId"]
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.update_protect_configuration_country_rule_set(
            ProtectConfigurationId=config_id,
            NumberCapability="SMS",
            CountryRuleSetUpdates={"AU": {"ProtectStatus": "BLOCK"}, "XX": {"ProtectStatus": "BLOCK"}},
        )
    assert "CountryRuleSetUpdates.XX" in [f["Name"] for f in error_of(excinfo)["Fields"]]
    sms = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config_id, NumberCapability="SMS")
    assert sms["CountryRuleSet"]["AU"] == {"ProtectStatus": "ALLOW"}


def test_delete_refusals(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config_id = client.create_protect_configuration(DeletionProtectionEnabled=True)["ProtectConfigurationId"]

    def refusal() -> dict[str, object]:
        with pytest.raises(client.exceptions.ConflictException) as excinfo:
            client.delete_protect_configuration(ProtectConfigurationId=config_id)
        error = error_of(excinfo)
        assert (error["ResourceType"], error["ResourceId"]) == ("protect-configuration", config_id)
        return error

    assert refusal()["Reason"] == "DELETION_PROTECTION_ENABLED"
    updated = client.update_protect_configuration(ProtectConfigurationId=config_id, DeletionProtectionEnabled=False)
    assert updated["DeletionProtectionEnabled"] is False
    default = client.set_account_default_protect_configuration(ProtectConfigurationId=config_id)
    assert default["DefaultProtectConfigurationId"] == config_id
    assert refusal()["Reason"] == "PROTECT_CONFIGURATION_IS_ACCOUNT_DEFAULT"
    removed = client.delete_account_default_protect_configuration()
    assert removed["DefaultProtectConfigurationId"] == config_id
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_account_default_protect_configuration()
    client.create_configuration_set(ConfigurationSetName="otp")
    associated = client.associate_protect_configuration(ProtectConfigurationId=config_id, ConfigurationSetName="otp")
    assert (associated["ConfigurationSetName"], associated["ProtectConfigurationId"]) == ("otp", config_id)
    assert refusal()["Reason"] == "PROTECT_CONFIGURATION_ASSOCIATED_WITH_CONFIGURATION_SET"
    client.disassociate_protect_configuration(ProtectConfigurationId=config_id, ConfigurationSetName="otp")
    deleted = client.delete_protect_configuration(ProtectConfigurationId=config_id)
    assert deleted["ProtectConfigurationId"] == config_id
    assert client.describe_protect_configurations()["ProtectConfigurations"] == []


def test_association_conflicts(sandbox: Sandbox) -> None:
    client = sandbox.client()
    first = client.create_protect_configuration()["ProtectConfigurationId"]
    client.create_configuration_set(ConfigurationSetName="otp")
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.disassociate_protect_configuration(ProtectConfigurationId=first, ConfigurationSetName="otp")
    assert error_of(excinfo)["Reason"] == "PROTECT_CONFIGURATION_NOT_ASSOCIATED_WITH_CONFIGURATION_SET"
    client.associate_protect_configuration(ProtectConfigurationId=first, ConfigurationSetName="otp")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
        client.associate_protect_configuration(ProtectConfigurationId=first, ConfigurationSetName="missing")
    assert error_of(excinfo)["ResourceType"] == "configuration-set"


def test_associating_a_second_configuration_replaces_the_first_in_one_call(sandbox: Sandbox) -> None:
    """AWS API reference, AssociateProtectConfiguration: "This replaces the configuration sets
    current protect configuration. A configuration set can only be associated with one protect
    configuration at a time." There is never a moment without protection."""
    client = sandbox.client()
    first = client.create_protect_configuration()["ProtectConfigurationId"]
    second = client.create_protect_configuration()["ProtectConfigurationId"]
    client.create_configuration_set(ConfigurationSetName="otp")
    client.associate_protect_configuration(ProtectConfigurationId=first, ConfigurationSetName="otp")
    replaced = client.associate_protect_configuration(ProtectConfigurationId=second, ConfigurationSetName="otp")
    assert replaced["ProtectConfigurationId"] == second
    described = client.describe_configuration_sets(ConfigurationSetNames=["otp"])["ConfigurationSets"]
    assert described[0]["ProtectConfigurationId"] == second
    # The first is no longer associated: disassociating it is refused, and it can be deleted.
    with pytest.raises(client.exceptions.ConflictException) as excinfo:
        client.disassociate_protect_configuration(ProtectConfigurationId=first, ConfigurationSetName="otp")
    assert error_of(excinfo)["Reason"] == "PROTECT_CONFIGURATION_NOT_ASSOCIATED_WITH_CONFIGURATION_SET"
    client.delete_protect_configuration(ProtectConfigurationId=first)


def test_number_overrides(sandbox: Sandbox) -> None:
    client = sandbox.client()
    config_id = client.create_protect_configuration()["ProtectConfigurationId"]
    expires = datetime.fromtimestamp(START + 3600, tz=UTC)
    put = client.put_protect_configuration_rule_set_number_override(
        ProtectConfigurationId=config_id, DestinationPhoneNumber="+61491570156", Action="ALLOW", ExpirationTimestamp=expires
    )
    assert (put["Action"], put["IsoCountryCode"], put["ExpirationTimestamp"]) == ("ALLOW", "AU", expires)
    client.put_protect_configuration_rule_set_number_override(
        ProtectConfigurationId=config_id, DestinationPhoneNumber="+447700900123", Action="BLOCK"
    )
    listed = client.list_protect_configuration_rule_set_number_overrides(ProtectConfigurationId=config_id)
    assert sorted(o["DestinationPhoneNumber"] for o in listed["RuleSetNumberOverrides"]) == ["+447700900123", "+61491570156"]

    def numbers(name: str, *values: str) -> list[str]:
        page = client.list_protect_configuration_rule_set_number_overrides(
            ProtectConfigurationId=config_id, Filters=[{"Name": name, "Values": list(values)}]
        )
        return [o["DestinationPhoneNumber"] for o in page["RuleSetNumberOverrides"]]

    assert numbers("action", "BLOCK") == ["+447700900123"]
    assert numbers("iso-country-code", "AU") == ["+61491570156"]
    assert numbers("destination-phone-number-begins-with", "+44") == ["+447700900123"]
    assert numbers("expires-before", str(START + 7200)) == ["+61491570156"]
    assert numbers("created-after", "2025-12-31T00:00:00Z") == ["+447700900123", "+61491570156"]
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        numbers("action", "MAYBE")
    assert error_of(excinfo)["Reason"] == "INVALID_FILTER_VALUES"
    with pytest.raises(client.exceptions.ValidationException):
        client.put_protect_configuration_rule_set_number_override(
            ProtectConfigurationId=config_id,
            DestinationPhoneNumber="+61491570157",
            Action="ALLOW",
            ExpirationTimestamp=datetime.fromtimestamp(START - 1, tz=UTC),
        )

    sandbox.advance(3601)  # the ALLOW override expires
    listed = client.list_protect_configuration_rule_set_number_overrides(ProtectConfigurationId=config_id)
    assert [o["DestinationPhoneNumber"] for o in listed["RuleSetNumberOverrides"]] == ["+447700900123"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_protect_configuration_rule_set_number_override(
            ProtectConfigurationId=config_id, DestinationPhoneNumber="+61491570156"
        )
    deleted = client.delete_protect_configuration_rule_set_number_override(
        ProtectConfigurationId=config_id, DestinationPhoneNumber="+447700900123"
    )
    assert deleted["Action"] == "BLOCK"


def test_client_token_makes_creates_idempotent(sandbox: Sandbox) -> None:
    client = sandbox.client()
    first = client.create_protect_configuration(ClientToken="apply-42", Tags=[{"Key": "Name", "Value": "p"}])
    again = client.create_protect_configuration(ClientToken="apply-42", Tags=[{"Key": "Name", "Value": "p"}])
    assert again["ProtectConfigurationId"] == first["ProtectConfigurationId"]
    assert len(sandbox.state().protect_configurations) == 1
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.create_protect_configuration(ClientToken="apply-42", DeletionProtectionEnabled=True)
    assert error_of(excinfo)["Reason"] == "INVALID_REQUEST"
    other = client.create_protect_configuration()  # botocore fills a fresh token
    assert other["ProtectConfigurationId"] != first["ProtectConfigurationId"]


def test_a_create_whose_response_is_lost_is_not_applied_twice() -> None:
    import random

    import boto3
    from botocore.config import Config

    from reconciler.sandbox.faults import Faults
    from reconciler.sandbox.state import Clock, World
    from reconciler.sandbox.wire import Gateway, InProcessAdapter

    # A seed whose first request is applied and then loses its response, and whose retry is clean.
    seed = next(s for s in range(1000) if (r := random.Random(s)).random() < 0.5 and r.random() >= 0.5)
    world = World(Clock(start=START, simulated=True))
    faults = Faults(drop_after_rate=0.5, seed=seed, operations=frozenset({"CreateProtectConfiguration"}))
    session = boto3.Session(aws_access_key_id=OWNER, aws_secret_access_key="x", region_name=REGION)
    InProcessAdapter(world, Gateway(world, faults=faults)).attach(session)
    client = session.client(
        "pinpoint-sms-voice-v2", config=Config(retries={"total_max_attempts": 3, "mode": "standard"})
    )
    created = client.create_protect_configuration()
    assert created["ResponseMetadata"]["RetryAttempts"] == 1
    assert list(world.region(OWNER, REGION).protect_configurations) == [created["ProtectConfigurationId"]]
