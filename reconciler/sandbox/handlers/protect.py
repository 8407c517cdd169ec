"""Protect configurations: create/describe/update/delete, country rule sets, the account default,
configuration-set associations and rule-set number overrides.

- A new configuration ALLOWs every supported country (``reconciler.countries.SUPPORTED``) for
  every capability (SMS, VOICE, MMS, RCS); GetProtectConfigurationCountryRuleSet returns them all.
  UpdateProtectConfigurationCountryRuleSet changes only the countries given; an unsupported country
  code fails with ValidationException and changes nothing.
- Delete is refused (ConflictException) when deletion protection is on, when the configuration is
  the account default, or when a configuration set uses it, checked in that order.
- Number overrides (ALLOW/BLOCK) may expire; an expired override stops applying and is no longer
  listed or deletable (it is purged the next time the configuration's overrides are read).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from reconciler import countries
from reconciler.sandbox import ids, limits
from reconciler.sandbox.errors import conflict, not_found, validation_error
from reconciler.sandbox.handlers.tags import drop_tags, store_tags, tag_list, validate_new_tags
from reconciler.sandbox.ids import PROTECT_CONFIGURATION
from reconciler.sandbox.paging import BOOLEAN_VALUES, filter_predicate, page_mapping
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import (
    arn_for,
    destination_country,
    find_configuration_set,
    find_protect_configuration,
    idempotent,
)
from reconciler.sandbox.state import NumberOverride, ProtectConfiguration, RegionState

CAPABILITIES = ("SMS", "VOICE", "MMS", "RCS")
ALLOW = "ALLOW"


def status_for(config: ProtectConfiguration, capability: str, country: str) -> str:
    return config.rules.get(capability, {}).get(country, ALLOW)


def live_override(config: ProtectConfiguration, number: str, now: float) -> NumberOverride | None:
    override = config.number_overrides.get(number)
    if override is None or (override.expiration is not None and override.expiration <= now):
        return None
    return override


def _purge_expired(config: ProtectConfiguration, now: float) -> None:
    for number in [n for n, o in config.number_overrides.items() if o.expiration is not None and o.expiration <= now]:
        del config.number_overrides[number]


def _info(state: RegionState, config: ProtectConfiguration) -> dict[str, Any]:
    return {
        "ProtectConfigurationArn": config.arn,
        "ProtectConfigurationId": config.protect_configuration_id,
        "CreatedTimestamp": ids.timestamp(config.created),
        "AccountDefault": state.account_default_protect_configuration_id == config.protect_configuration_id,
        "DeletionProtectionEnabled": config.deletion_protection_enabled,
    }


def _find(call: Call, value: str | None = None) -> ProtectConfiguration:
    _, config = find_protect_configuration(call.world, call.state, value or call.params["ProtectConfigurationId"])
    return config


@operation(SMS_VOICE, "CreateProtectConfiguration")
def create_protect_configuration(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _create_protect_configuration(call))


def _create_protect_configuration(call: Call) -> dict[str, Any]:
    state = call.state
    validate_new_tags(call.params.get("Tags"))
    limits.check(
        call.world.settings, limits.PROTECT_CONFIGURATIONS, call.account, len(state.protect_configurations),
        "PROTECT_CONFIGURATIONS_PER_ACCOUNT", "protect configurations",
    )
    config_id = ids.new_id(PROTECT_CONFIGURATION)
    config = ProtectConfiguration(
        protect_configuration_id=config_id,
        arn=arn_for(state, PROTECT_CONFIGURATION, config_id),
        created=call.now(),
        deletion_protection_enabled=bool(call.params.get("DeletionProtectionEnabled", False)),
    )
    state.protect_configurations[config_id] = config
    store_tags(state, config.arn, call.params.get("Tags"))
    return {**_info(state, config), "Tags": tag_list(state, config.arn)}


_FILTERS: dict[str, Callable[[Any], Any]] = {
    "deletion-protection-enabled": lambda c: c.deletion_protection_enabled,
}


@operation(SMS_VOICE, "DescribeProtectConfigurations")
def describe_protect_configurations(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    getters = {
        **_FILTERS,
        "account-default": lambda c: state.account_default_protect_configuration_id == c.protect_configuration_id,
    }
    predicate = filter_predicate(
        params.get("Filters"),
        getters,
        {"account-default": BOOLEAN_VALUES, "deletion-protection-enabled": BOOLEAN_VALUES},
    )
    wanted = params.get("ProtectConfigurationIds")
    if wanted:
        found: dict[str, ProtectConfiguration] = {}
        for value in wanted:
            config = _find(call, value)
            if predicate is None or predicate(None, config):
                found[config.protect_configuration_id] = config
        return {"ProtectConfigurations": [_info(state, c) for c in found.values()]}
    page, token = page_mapping(
        state.protect_configurations, params, f"DescribeProtectConfigurations/{call.account}/{call.region}", predicate
    )
    out: dict[str, Any] = {"ProtectConfigurations": [_info(state, c) for _, c in page]}
    if token:
        out["NextToken"] = token
    return out


@operation(SMS_VOICE, "UpdateProtectConfiguration")
def update_protect_configuration(call: Call) -> dict[str, Any]:
    config = _find(call)
    if "DeletionProtectionEnabled" in call.params:
        config.deletion_protection_enabled = bool(call.params["DeletionProtectionEnabled"])
    return _info(call.state, config)


@operation(SMS_VOICE, "DeleteProtectConfiguration")
def delete_protect_configuration(call: Call) -> dict[str, Any]:
    state = call.state
    config = _find(call)
    config_id = config.protect_configuration_id
    if config.deletion_protection_enabled:
        raise conflict("DELETION_PROTECTION_ENABLED", PROTECT_CONFIGURATION, config_id)
    if state.account_default_protect_configuration_id == config_id:
        raise conflict("PROTECT_CONFIGURATION_IS_ACCOUNT_DEFAULT", PROTECT_CONFIGURATION, config_id)
    if any(c.protect_configuration_id == config_id for c in state.configuration_sets.values()):
        raise conflict("PROTECT_CONFIGURATION_ASSOCIATED_WITH_CONFIGURATION_SET", PROTECT_CONFIGURATION, config_id)
    out = _info(state, config)
    del state.protect_configurations[config_id]
    drop_tags(state, config.arn)
    return out


def _rule_set(config: ProtectConfiguration, capability: str) -> dict[str, dict[str, str]]:
    return {cc: {"ProtectStatus": status_for(config, capability, cc)} for cc in sorted(countries.SUPPORTED)}


@operation(SMS_VOICE, "GetProtectConfigurationCountryRuleSet")
def get_country_rule_set(call: Call) -> dict[str, Any]:
    config = _find(call)
    capability = call.params["NumberCapability"]
    return {
        "ProtectConfigurationArn": config.arn,
        "ProtectConfigurationId": config.protect_configuration_id,
        "NumberCapability": capability,
        "CountryRuleSet": _rule_set(config, capability),
    }


@operation(SMS_VOICE, "UpdateProtectConfigurationCountryRuleSet")
def update_country_rule_set(call: Call) -> dict[str, Any]:
    config = _find(call)
    capability = call.params["NumberCapability"]
    updates: dict[str, dict[str, str]] = call.params["CountryRuleSetUpdates"]
    unsupported = sorted(cc for cc in updates if cc not in countries.SUPPORTED)
    if unsupported:
        raise validation_error(
            f"Unsupported country codes: {', '.join(unsupported)}.",
            "INVALID_PARAMETER",
            [{"Name": f"CountryRuleSetUpdates.{cc}", "Message": "Not a supported country."} for cc in unsupported],
        )
    rules = config.rules.setdefault(capability, {})
    for cc, rule in updates.items():
        if rule["ProtectStatus"] == ALLOW:
            rules.pop(cc, None)  # ALLOW is the default: keep only the exceptions
        else:
            rules[cc] = rule["ProtectStatus"]
    if not rules:
        config.rules.pop(capability, None)
    return {
        "ProtectConfigurationArn": config.arn,
        "ProtectConfigurationId": config.protect_configuration_id,
        "NumberCapability": capability,
        "CountryRuleSet": _rule_set(config, capability),
    }


@operation(SMS_VOICE, "SetAccountDefaultProtectConfiguration")
def set_account_default(call: Call) -> dict[str, Any]:
    config = _find(call)
    call.state.account_default_protect_configuration_id = config.protect_configuration_id
    return {
        "DefaultProtectConfigurationArn": config.arn,
        "DefaultProtectConfigurationId": config.protect_configuration_id,
    }


@operation(SMS_VOICE, "DeleteAccountDefaultProtectConfiguration")
def delete_account_default(call: Call) -> dict[str, Any]:
    state = call.state
    current = state.account_default_protect_configuration_id
    config = state.protect_configurations.get(current) if current else None
    if config is None:
        raise not_found(PROTECT_CONFIGURATION, "account-default")
    state.account_default_protect_configuration_id = None
    return {
        "DefaultProtectConfigurationArn": config.arn,
        "DefaultProtectConfigurationId": config.protect_configuration_id,
    }


def _association(call: Call) -> tuple[ProtectConfiguration, Any]:
    config = _find(call)
    _, config_set = find_configuration_set(call.world, call.state, call.params["ConfigurationSetName"])
    return config, config_set


def _association_output(config: ProtectConfiguration, config_set: Any) -> dict[str, Any]:
    return {
        "ConfigurationSetArn": config_set.arn,
        "ConfigurationSetName": config_set.name,
        "ProtectConfigurationArn": config.arn,
        "ProtectConfigurationId": config.protect_configuration_id,
    }


@operation(SMS_VOICE, "AssociateProtectConfiguration")
def associate_protect_configuration(call: Call) -> dict[str, Any]:
    config, config_set = _association(call)
    # AWS (API reference, AssociateProtectConfiguration): "This replaces the configuration sets
    # current protect configuration" — one call, no window without protection.
    config_set.protect_configuration_id = config.protect_configuration_id
    return _association_output(config, config_set)


@operation(SMS_VOICE, "DisassociateProtectConfiguration")
def disassociate_protect_configuration(call: Call) -> dict[str, Any]:
    config, config_set = _association(call)
    if config_set.protect_configuration_id != config.protect_configuration_id:
        raise conflict(
            "PROTECT_CONFIGURATION_NOT_ASSOCIATED_WITH_CONFIGURATION_SET",
            PROTECT_CONFIGURATION,
            config.protect_configuration_id,
        )
    config_set.protect_configuration_id = None
    return _association_output(config, config_set)


def _override_info(override: NumberOverride) -> dict[str, Any]:
    out: dict[str, Any] = {
        "DestinationPhoneNumber": override.destination_phone_number,
        "CreatedTimestamp": ids.timestamp(override.created),
        "Action": override.action,
        "IsoCountryCode": destination_country(override.destination_phone_number),
    }
    if override.expiration is not None:
        out["ExpirationTimestamp"] = ids.timestamp(override.expiration)
    return out


@operation(SMS_VOICE, "PutProtectConfigurationRuleSetNumberOverride")
def put_number_override(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _put_number_override(call))


def _put_number_override(call: Call) -> dict[str, Any]:
    params = call.params
    config = _find(call)
    number = params["DestinationPhoneNumber"]
    destination_country(number)
    now = call.now()
    expiration = ids.epoch(params["ExpirationTimestamp"]) if params.get("ExpirationTimestamp") is not None else None
    if expiration is not None and expiration <= now:
        raise validation_error(
            "ExpirationTimestamp must be in the future.",
            "INVALID_PARAMETER",
            [{"Name": "ExpirationTimestamp", "Message": "The time has already passed."}],
        )
    _purge_expired(config, now)
    if number not in config.number_overrides:  # replacing an override adds none
        limits.check(
            call.world.settings, limits.NUMBER_OVERRIDES, call.account, len(config.number_overrides),
            None, "number overrides in this protect configuration",
        )
    override = NumberOverride(destination_phone_number=number, action=params["Action"], created=now, expiration=expiration)
    config.number_overrides[number] = override
    return {
        "ProtectConfigurationArn": config.arn,
        "ProtectConfigurationId": config.protect_configuration_id,
        **_override_info(override),
    }


@operation(SMS_VOICE, "DeleteProtectConfigurationRuleSetNumberOverride")
def delete_number_override(call: Call) -> dict[str, Any]:
    config = _find(call)
    number = call.params["DestinationPhoneNumber"]
    _purge_expired(config, call.now())
    override = config.number_overrides.pop(number, None)
    if override is None:
        raise not_found(PROTECT_CONFIGURATION, number)
    return {
        "ProtectConfigurationArn": config.arn,
        "ProtectConfigurationId": config.protect_configuration_id,
        **_override_info(override),
    }


def _time_value(value: str, index: int) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise validation_error(
            f"Invalid time value {value!r}: use epoch seconds or ISO 8601.",
            "INVALID_FILTER_VALUES",
            [{"Name": f"Filters[{index}].Values", "Message": "Not a time."}],
        ) from None


_OVERRIDE_FILTER_NAMES = (
    "iso-country-code",
    "destination-phone-number-begins-with",
    "action",
    "expires-before",
    "expires-after",
    "created-before",
    "created-after",
)


def _time_check(name: str, times: list[float]) -> Callable[[NumberOverride], bool]:
    """``expires-*``/``created-*`` filters; with several values the widest bound applies."""
    latest, earliest = max(times), min(times)
    if name == "expires-before":
        return lambda o: o.expiration is not None and o.expiration < latest
    if name == "expires-after":
        return lambda o: o.expiration is None or o.expiration > earliest
    if name == "created-before":
        return lambda o: o.created < latest
    return lambda o: o.created > earliest


def _override_predicate(filters: list[dict[str, Any]] | None) -> Callable[[Any, NumberOverride], bool] | None:
    if not filters:
        return None
    checks: list[Callable[[NumberOverride], bool]] = []
    for index, item in enumerate(filters):
        name, values = item["Name"], list(item["Values"])
        if name not in _OVERRIDE_FILTER_NAMES:
            raise validation_error(
                f"Unknown filter name {name!r}.",
                "FIELD_VALIDATION_FAILED",
                [{"Name": f"Filters[{index}].Name", "Message": "Unknown filter name."}],
            )
        if name == "iso-country-code":
            codes = set(values)
            checks.append(lambda o, codes=codes: destination_country(o.destination_phone_number) in codes)  # type: ignore[misc]
        elif name == "destination-phone-number-begins-with":
            checks.append(lambda o, v=tuple(values): o.destination_phone_number.startswith(v))  # type: ignore[misc]
        elif name == "action":
            bad = sorted(set(values) - {"ALLOW", "BLOCK"})
            if bad:
                raise validation_error(
                    f"Invalid values for filter action: {', '.join(bad)}.",
                    "INVALID_FILTER_VALUES",
                    [{"Name": f"Filters[{index}].Values", "Message": "Allowed: ALLOW, BLOCK."}],
                )
            checks.append(lambda o, v=frozenset(values): o.action in v)  # type: ignore[misc]
        else:
            checks.append(_time_check(name, [_time_value(v, index) for v in values]))
    return lambda _key, override: all(check(override) for check in checks)


@operation(SMS_VOICE, "ListProtectConfigurationRuleSetNumberOverrides")
def list_number_overrides(call: Call) -> dict[str, Any]:
    params = call.params
    config = _find(call)
    _purge_expired(config, call.now())
    predicate = _override_predicate(params.get("Filters"))
    page, token = page_mapping(
        config.number_overrides, params, f"ListProtectConfigurationRuleSetNumberOverrides/{config.arn}", predicate
    )
    out: dict[str, Any] = {
        "ProtectConfigurationArn": config.arn,
        "ProtectConfigurationId": config.protect_configuration_id,
        "RuleSetNumberOverrides": [_override_info(o) for _, o in page],
    }
    if token:
        out["NextToken"] = token
    return out
