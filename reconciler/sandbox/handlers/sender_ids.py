"""RequestSenderId, ReleaseSenderId, DescribeSenderIds, UpdateSenderId.

A sender ID is identified by the sender ID *and* its country (``SENDERID/CC`` in its ARN).
Sender IDs are ACTIVE as soon as they are requested and never registered (registrations are not
emulated). The United States and Canada do not support sender IDs, so requesting one there fails
with ``SENDER_ID_NOT_SUPPORTED``.
"""

from __future__ import annotations

from typing import Any

from reconciler import countries
from reconciler.sandbox import ids
from reconciler.sandbox.errors import conflict, validation_error
from reconciler.sandbox.handlers.tags import drop_tags, store_tags, tag_list, validate_new_tags
from reconciler.sandbox.ids import SENDER_ID
from reconciler.sandbox.paging import BOOLEAN_VALUES, filter_predicate, page_list, page_mapping
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import find_sender_id, idempotent, refuse_owner_with_ids, shared_records
from reconciler.sandbox.state import RegionState, SenderId

# Countries whose carriers do not accept alphanumeric sender IDs.
SENDER_ID_UNSUPPORTED = frozenset({"US", "CA"})


def describe(sender: SenderId, state: RegionState | None = None, with_tags: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SenderIdArn": sender.arn,
        "SenderId": sender.sender_id,
        "IsoCountryCode": sender.iso_country_code,
        "MessageTypes": list(sender.message_types),
        "MonthlyLeasingPrice": sender.monthly_leasing_price,
        "DeletionProtectionEnabled": sender.deletion_protection_enabled,
        "Registered": sender.registered,
    }
    if sender.registration_id:
        out["RegistrationId"] = sender.registration_id
    if with_tags and state is not None:
        out["Tags"] = tag_list(state, sender.arn)
    return out


def pool_of(state: RegionState, arn: str) -> str | None:
    """The id of the pool an origination identity belongs to, if any."""
    for pool in state.pools.values():
        if arn in pool.members:
            return pool.pool_id
    return None


@operation(SMS_VOICE, "RequestSenderId")
def request_sender_id(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _request_sender_id(call))


def _request_sender_id(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    country = params["IsoCountryCode"]
    if country not in countries.SUPPORTED:
        raise validation_error(
            f"{country} is not a supported country.",
            "INVALID_PARAMETER",
            [{"Name": "IsoCountryCode", "Message": "Not a supported ISO 3166-1 alpha-2 code."}],
        )
    if country in SENDER_ID_UNSUPPORTED:
        raise validation_error(
            f"Sender IDs are not supported in {country}.",
            "SENDER_ID_NOT_SUPPORTED",
            [{"Name": "IsoCountryCode", "Message": f"{country} does not support sender IDs."}],
        )
    key = ids.sender_id_key(params["SenderId"], country)
    if key in state.sender_ids:
        raise conflict("RESOURCE_ALREADY_EXISTS", SENDER_ID, key)
    validate_new_tags(params.get("Tags"))
    sender = SenderId(
        sender_id=params["SenderId"],
        iso_country_code=country,
        arn=ids.sender_id_arn(state.region, state.account, params["SenderId"], country),
        message_types=list(dict.fromkeys(params.get("MessageTypes") or ["TRANSACTIONAL"])),
        deletion_protection_enabled=bool(params.get("DeletionProtectionEnabled", False)),
    )
    state.sender_ids[key] = sender
    store_tags(state, sender.arn, params.get("Tags"))
    return describe(sender, state, with_tags=True)


def _owned(call: Call) -> SenderId:
    _, sender = find_sender_id(call.world, call.state, call.params["SenderId"], call.params["IsoCountryCode"])
    return sender


@operation(SMS_VOICE, "ReleaseSenderId")
def release_sender_id(call: Call) -> dict[str, Any]:
    state = call.state
    sender = _owned(call)
    key = ids.sender_id_key(sender.sender_id, sender.iso_country_code)
    if sender.deletion_protection_enabled:
        raise conflict("DELETION_PROTECTION_ENABLED", SENDER_ID, key)
    if pool_of(state, sender.arn):
        raise conflict("SENDER_ID_ASSOCIATED_TO_POOL", SENDER_ID, key)
    del state.sender_ids[key]
    drop_tags(state, sender.arn)
    out = describe(sender)
    out.pop("DeletionProtectionEnabled")
    return out


@operation(SMS_VOICE, "UpdateSenderId")
def update_sender_id(call: Call) -> dict[str, Any]:
    sender = _owned(call)
    if "DeletionProtectionEnabled" in call.params:
        sender.deletion_protection_enabled = bool(call.params["DeletionProtectionEnabled"])
    return describe(sender)


_FILTERS = {
    "sender-id": lambda s: s.sender_id,
    "iso-country-code": lambda s: s.iso_country_code,
    "message-type": lambda s: s.message_types,
    "deletion-protection-enabled": lambda s: s.deletion_protection_enabled,
    "registered": lambda s: s.registered,
}
_FILTER_VALUES = {
    "message-type": ("TRANSACTIONAL", "PROMOTIONAL"),
    "deletion-protection-enabled": BOOLEAN_VALUES,
    "registered": BOOLEAN_VALUES,
}


@operation(SMS_VOICE, "DescribeSenderIds")
def describe_sender_ids(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    refuse_owner_with_ids(params, "SenderIds")
    shared = params.get("Owner") == "SHARED"
    predicate = filter_predicate(params.get("Filters"), _FILTERS, _FILTER_VALUES)
    wanted = params.get("SenderIds")
    if wanted:
        found: dict[str, SenderId] = {}
        for item in wanted:
            _, sender = find_sender_id(call.world, state, item["SenderId"], item["IsoCountryCode"], True)
            if predicate is None or predicate(None, sender):
                found[sender.arn] = sender
        return {"SenderIds": [describe(s) for s in found.values()]}
    scope = f"DescribeSenderIds/{call.account}/{call.region}/{'SHARED' if shared else 'SELF'}"
    if shared:
        pairs = [(r.arn, r) for _, r in shared_records(call.world, call.account, call.region, SENDER_ID)]
        page, token = page_list(pairs, params, scope, predicate)
    else:
        page, token = page_mapping(state.sender_ids, params, scope, predicate)
    out: dict[str, Any] = {"SenderIds": [describe(s) for _, s in page]}
    if token:
        out["NextToken"] = token
    return out
