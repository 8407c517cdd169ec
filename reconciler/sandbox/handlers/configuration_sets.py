"""CreateConfigurationSet, DeleteConfigurationSet, DescribeConfigurationSets.

Event destinations are not emulated: every configuration set has none, so the
``event-destination-name`` and ``matching-event-types`` filters match nothing. Deleting a
configuration set drops its protect configuration association with it. Configuration sets are
not shareable through RAM, so only the caller's own are visible.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import ids
from reconciler.sandbox.errors import conflict
from reconciler.sandbox.handlers.tags import drop_tags, store_tags, tag_list, validate_new_tags
from reconciler.sandbox.ids import CONFIGURATION_SET
from reconciler.sandbox.paging import BOOLEAN_VALUES, filter_predicate, page_mapping
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import arn_for, find_configuration_set, idempotent
from reconciler.sandbox.state import ConfigurationSet


def describe(config_set: ConfigurationSet) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ConfigurationSetArn": config_set.arn,
        "ConfigurationSetName": config_set.name,
        "EventDestinations": [],
        "DefaultMessageFeedbackEnabled": config_set.default_message_feedback_enabled,
        "CreatedTimestamp": ids.timestamp(config_set.created),
    }
    if config_set.default_message_type:
        out["DefaultMessageType"] = config_set.default_message_type
    if config_set.default_sender_id:
        out["DefaultSenderId"] = config_set.default_sender_id
    if config_set.protect_configuration_id:
        out["ProtectConfigurationId"] = config_set.protect_configuration_id
    return out


@operation(SMS_VOICE, "CreateConfigurationSet")
def create_configuration_set(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _create_configuration_set(call))


def _create_configuration_set(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    name = params["ConfigurationSetName"]
    if name in state.configuration_sets:
        raise conflict("RESOURCE_ALREADY_EXISTS", CONFIGURATION_SET, name)
    validate_new_tags(params.get("Tags"))
    config_set = ConfigurationSet(name=name, arn=arn_for(state, CONFIGURATION_SET, name), created=call.now())
    state.configuration_sets[name] = config_set
    store_tags(state, config_set.arn, params.get("Tags"))
    return {
        "ConfigurationSetArn": config_set.arn,
        "ConfigurationSetName": name,
        "Tags": tag_list(state, config_set.arn),
        "CreatedTimestamp": ids.timestamp(config_set.created),
    }


@operation(SMS_VOICE, "DeleteConfigurationSet")
def delete_configuration_set(call: Call) -> dict[str, Any]:
    state = call.state
    _, config_set = find_configuration_set(call.world, state, call.params["ConfigurationSetName"])
    del state.configuration_sets[config_set.name]
    drop_tags(state, config_set.arn)
    out = describe(config_set)
    out.pop("ProtectConfigurationId", None)  # not a member of DeleteConfigurationSetResult
    return out


_FILTERS = {
    "event-destination-name": lambda c: None,
    "matching-event-types": lambda c: None,
    "default-message-type": lambda c: c.default_message_type,
    "default-sender-id": lambda c: c.default_sender_id,
    "default-message-feedback-enabled": lambda c: c.default_message_feedback_enabled,
    "protect-configuration-id": lambda c: c.protect_configuration_id,
}
_FILTER_VALUES = {
    "default-message-type": ("TRANSACTIONAL", "PROMOTIONAL"),
    "default-message-feedback-enabled": BOOLEAN_VALUES,
}


@operation(SMS_VOICE, "DescribeConfigurationSets")
def describe_configuration_sets(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    predicate = filter_predicate(params.get("Filters"), _FILTERS, _FILTER_VALUES)
    wanted = params.get("ConfigurationSetNames")
    if wanted:
        found: dict[str, ConfigurationSet] = {}
        for value in wanted:
            _, config_set = find_configuration_set(call.world, state, value)
            if predicate is None or predicate(None, config_set):
                found[config_set.name] = config_set
        return {"ConfigurationSets": [describe(c) for c in found.values()]}
    page, token = page_mapping(
        state.configuration_sets, params, f"DescribeConfigurationSets/{call.account}/{call.region}", predicate
    )
    out: dict[str, Any] = {"ConfigurationSets": [describe(c) for _, c in page]}
    if token:
        out["NextToken"] = token
    return out
