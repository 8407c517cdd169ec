"""Country facts come from AWS's supported-countries tables, through one data file.

``reconciler/data/countries.json`` records every row read from AWS's tables (the current region
pages "Channel support by country in ...", the SMS table of the sms-voice user guide, the last
published Pinpoint table), where and when each was read, and the assumptions for what could not
be read. The product's validation and the sandbox's rule sets and international sending both read
it through ``reconciler.countries``.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from sms_support import Sandbox, error_of, toll_free

from reconciler import countries
from reconciler.config import load_policy
from reconciler.config.model import CAPABILITIES


def _data() -> dict[str, Any]:
    return json.loads(resources.files("reconciler").joinpath("data/countries.json").read_text("utf-8"))


def _example(country: str) -> str:
    region = {"KV": "XK", "AN": "CW"}.get(country, country)  # libphonenumber's regions for AWS's codes
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_every_row_names_where_and_when_it_was_read() -> None:
    data = _data()
    sources, rows = data["sources"], data["rows"]
    for source in sources.values():
        assert source["title"] and source["read"] == "2026-12-05"
        assert source.get("url", "").startswith("https://docs.aws.amazon.com/") or (
            source["repo"] == "awsdocs/amazon-pinpoint-user-guide" and len(source["commit"]) == 40)
    for code, row in rows.items():
        assert row["source"] == row["listed_by"][0] and set(row["listed_by"]) <= set(sources), code
        assert set(row) - {"name", "source", "listed_by", "printed_code"} <= set(data["columns"]), code
    # A source's row count is what was read from it: no row invented, none dropped.
    listed = Counter(s for row in rows.values() for s in row["listed_by"])
    for name, source in sources.items():
        if "rows_read" in source:
            assert listed[name] == source["rows_read"] <= source.get("rows_on_page", source["rows_read"]), name


def test_the_table_says_no_where_aws_says_no() -> None:
    rows = _data()["rows"]
    refused = sorted(code for code, row in rows.items() if row.get("international_sending") is False)
    assert refused == ["AD", "AW", "BS", "CN", "FM", "GQ", "MH", "NF", "PF", "PW", "TD"]
    assert rows["CA"]["international_sending"] is True and rows["CA"]["source"] == "eum-north-america"
    # Countries AWS does not list are not in any rule set; the Tuvalu misprint is recorded.
    assert {"CU", "IR", "KP", "AQ"}.isdisjoint(countries.SUPPORTED)
    assert rows["TV"]["printed_code"] == "TC" and rows["TC"]["name"] == "Turks and Caicos Islands"


def test_no_row_is_a_country_aws_says_it_cannot_send_to() -> None:
    data = _data()
    unreachable = data["unreachable"]
    quote = data["sources"][unreachable["source"]]["quote"]
    assert sorted(unreachable["countries"]) == ["CU", "IR", "KP", "SD", "SY"]
    for code in unreachable["countries"]:
        assert countries.name(code) in quote, code  # Cuba, Iran, North Korea, Sudan, Syria
    assert countries.UNREACHABLE.isdisjoint(data["rows"]) and countries.UNREACHABLE.isdisjoint(countries.SUPPORTED)


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_the_sandbox_rule_set_has_exactly_the_tables_countries(capability: str) -> None:
    client = Sandbox().client()
    config = client.create_protect_configuration()["ProtectConfigurationId"]
    rules = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config, NumberCapability=capability)
    assert set(rules["CountryRuleSet"]) == set(_data()["rows"]) == countries.SUPPORTED


def test_the_sandbox_refuses_a_rule_for_a_country_outside_the_table() -> None:
    client = Sandbox().client()
    config = client.create_protect_configuration()["ProtectConfigurationId"]
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.update_protect_configuration_country_rule_set(
            ProtectConfigurationId=config, NumberCapability="SMS",
            CountryRuleSetUpdates={"KV": {"ProtectStatus": "BLOCK"}, "CU": {"ProtectStatus": "BLOCK"}})
    assert "CU" in str(excinfo.value)
    rules = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config, NumberCapability="SMS")
    assert rules["CountryRuleSet"]["KV"]["ProtectStatus"] == "ALLOW"  # the whole update was refused


def test_validation_refuses_a_country_outside_the_table(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(
        'targets: [{name: prod, account_id: "111111111111", region: us-east-1}]\n'
        "protect_configurations:\n  - name: p\n    rules:\n"
        "      SMS: {BLOCK: [CU, KV, AW]}\n"
        "      VOICE: {BLOCK: [XK, AQ]}\n"
    )
    policy, diagnostics = load_policy(tmp_path)
    assert policy is None
    found = [(d.code, d.line, d.column) for d in diagnostics]
    assert found == [("unknown-country", 5, 21), ("unknown-country", 6, 23), ("unknown-country", 6, 27)]
    cuba, kosovo, antarctica = diagnostics
    assert "'CU' is not a country AWS End User Messaging supports" in cuba.message
    assert cuba.hint == (
        "AWS End User Messaging SMS cannot send to CU (Cuba) (user guide, "
        '"SMS and MMS country capabilities and limitations"): remove it'
    )
    assert kosovo.hint == "did you mean KV (Kosovo)?"  # ISO's user-assigned XK; AWS prints KV
    assert antarctica.hint == "AQ (Antarctica) is not in AWS's table (reconciler/data/countries.json): remove it"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def _send(client: Any, number: dict[str, Any], destination: str) -> str | None:
    try:
        client.send_text_message(DestinationPhoneNumber=destination, OriginationIdentity=number["PhoneNumberId"], MessageBody="hi")
    except client.exceptions.ValidationException as excinfo:
        return str(excinfo.response["Reason"])
    return None


def test_international_sending_follows_the_table(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client)
    refused = "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY"
    # Without international sending: the US and its territories only (TFN registration page).
    for domestic in sorted(countries.US_TOLL_FREE_DOMESTIC):
        assert _send(client, number, _example(domestic)) is None, domestic
    assert _send(client, number, _example("CA")) == refused  # Canada is international (assumption)
    client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], InternationalSendingEnabled=True)
    # Every row the table says Yes or No for, and a Yes and a No AWS does not list (CU).
    rows = _data()["rows"]
    for code, row in sorted(rows.items()):
        if "international_sending" in row:
            expected = None if row["international_sending"] else refused
            assert _send(client, number, _example(code)) == expected, code
    assert _send(client, number, _example("CU")) == refused  # not in AWS's table
    assert _send(client, number, _example("KV")) is None  # a +383 number is the table's KV


def test_the_refusal_names_the_country(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client, InternationalSendingEnabled=True)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.send_text_message(DestinationPhoneNumber=_example("AW"), OriginationIdentity=number["PhoneNumberId"], MessageBody="hi")
    assert error_of(excinfo)["Reason"] == "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY"
    assert "AW" in excinfo.value.response["Error"]["Message"]
