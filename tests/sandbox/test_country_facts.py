"""Country facts come from AWS's supported-countries table, through one data file.

``reconciler/data/countries.json`` records the rows read from the user guide's table ("Channel
support by country in North America", AWS End User Messaging User Guide), its URL and retrieval
date, and the assumptions for what could not be read. The product's validation and the sandbox's
rule sets and international sending both read it through ``reconciler.countries``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import phonenumbers
import pycountry
import pytest
from sms_support import Sandbox, error_of, toll_free

from reconciler import countries
from reconciler.config import load_policy


def _data() -> dict[str, Any]:
    return json.loads(resources.files("reconciler").joinpath("data/countries.json").read_text("utf-8"))


def _example(country: str) -> str:
    number = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_the_data_file_names_its_source_and_date() -> None:
    source = _data()["source"]
    assert source["url"].startswith("https://docs.aws.amazon.com/end-user-messaging/latest/userguide/nx-supported-countries")
    assert source["title"] and source["retrieved"] == "2026-12-05"
    rows = _data()["rows"]
    assert rows["AW"]["international_sending"] is False and rows["BS"]["international_sending"] is False
    assert rows["CA"]["international_sending"] is True


def test_product_and_sandbox_read_the_same_file() -> None:
    data = _data()
    expected = {c.alpha_2 for c in pycountry.countries} - set(data["assumptions"]["excluded"]) | set(data["rows"])
    assert expected == countries.SUPPORTED
    sandbox = Sandbox()
    client = sandbox.client()
    config = client.create_protect_configuration()["ProtectConfigurationId"]
    rules = client.get_protect_configuration_country_rule_set(ProtectConfigurationId=config, NumberCapability="SMS")
    assert set(rules["CountryRuleSet"]) == expected


def test_validation_refuses_a_country_outside_the_data(tmp_path: Any) -> None:
    (tmp_path / "policy.yaml").write_text(
        'targets: [{name: prod, account_id: "111111111111", region: us-east-1}]\n'
        "protect_configurations:\n  - name: p\n    rules: {SMS: {BLOCK: [AQ, AW]}}\n"
    )
    policy, diagnostics = load_policy(tmp_path)
    assert policy is None
    assert [(d.code, d.line) for d in diagnostics] == [("unknown-country", 4)]
    assert "AQ" in diagnostics[0].message


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
    assert _send(client, number, _example("PR")) is None
    assert _send(client, number, _example("CA")) == refused  # Canada is international (assumption)
    client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], InternationalSendingEnabled=True)
    for allowed in ("CA", "BB", "KY", "GB"):
        assert _send(client, number, _example(allowed)) is None, allowed
    for no in ("AW", "BS"):  # "International sending: No" in AWS's table
        assert _send(client, number, _example(no)) == refused, no


def test_the_refusal_names_the_country(sandbox: Sandbox) -> None:
    client = sandbox.client()
    number = toll_free(client, InternationalSendingEnabled=True)
    with pytest.raises(client.exceptions.ValidationException) as excinfo:
        client.send_text_message(DestinationPhoneNumber=_example("AW"), OriginationIdentity=number["PhoneNumberId"], MessageBody="hi")
    assert error_of(excinfo)["Reason"] == "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY"
    assert "AW" in excinfo.value.response["Error"]["Message"]
