"""RequestPhoneNumber, ReleasePhoneNumber, DescribePhoneNumbers, UpdatePhoneNumber.

Behaviour (and the assumptions where AWS does not document it) is listed in
docs/sandbox-operations.md. In short: numbers are ACTIVE as soon as they are requested;
``InternationalSendingEnabled`` exists only for US toll-free numbers; a number in a pool cannot be
updated or released (the pool owns its settings, as AWS documents for UpdatePhoneNumber).
"""

from __future__ import annotations

import random
from typing import Any

import phonenumbers

from reconciler import countries
from reconciler.sandbox import ids
from reconciler.sandbox.errors import ApiError, conflict, not_found, validation_error
from reconciler.sandbox.handlers.tags import drop_tags, store_tags, tag_list, validate_new_tags
from reconciler.sandbox.ids import PHONE_NUMBER
from reconciler.sandbox.paging import BOOLEAN_VALUES, filter_predicate, page_list, page_mapping
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import (
    arn_for,
    ensure_default_opt_out_list,
    find_opt_out_list,
    find_phone_number,
    find_pool,
    idempotent,
    refuse_owner_with_ids,
    shared_records,
)
from reconciler.sandbox.state import PhoneNumber, RegionState

# Illustrative monthly prices (USD) by number type; AWS's real prices vary by country.
_MONTHLY_PRICE = {"TOLL_FREE": "2.00", "TEN_DLC": "2.00", "LONG_CODE": "1.00", "SIMULATOR": "0.00", "SHORT_CODE": "995.00"}
# Number types AWS sells only in the United States.
_US_ONLY = frozenset({"TOLL_FREE", "TEN_DLC"})
_rng = random.Random()

NUMBER_STATUSES = ("PENDING", "ACTIVE", "ASSOCIATING", "DISASSOCIATING", "DELETED")
NUMBER_TYPES = ("SHORT_CODE", "LONG_CODE", "TOLL_FREE", "TEN_DLC", "SIMULATOR")
CAPABILITIES = ("SMS", "VOICE", "MMS", "RCS")
MESSAGE_TYPES = ("TRANSACTIONAL", "PROMOTIONAL")


def international_sending_supported(number: PhoneNumber) -> bool:
    return number.iso_country_code == "US" and number.number_type == "TOLL_FREE"


def describe(number: PhoneNumber, state: RegionState | None = None, with_tags: bool = False) -> dict[str, Any]:
    """``PhoneNumberInformation`` (and the Request/Release/Update outputs, which share its members)."""
    out: dict[str, Any] = {
        "PhoneNumberArn": number.arn,
        "PhoneNumberId": number.phone_number_id,
        "PhoneNumber": number.phone_number,
        "Status": number.status,
        "IsoCountryCode": number.iso_country_code,
        "MessageType": number.message_type,
        "NumberCapabilities": list(number.number_capabilities),
        "NumberType": number.number_type,
        "MonthlyLeasingPrice": number.monthly_leasing_price,
        "TwoWayEnabled": number.two_way_enabled,
        "SelfManagedOptOutsEnabled": number.self_managed_opt_outs_enabled,
        "OptOutListName": number.opt_out_list_name,
        "InternationalSendingEnabled": number.international_sending_enabled,
        "DeletionProtectionEnabled": number.deletion_protection_enabled,
        "CreatedTimestamp": ids.timestamp(number.created),
    }
    if number.two_way_channel_arn:
        out["TwoWayChannelArn"] = number.two_way_channel_arn
    if number.two_way_channel_role:
        out["TwoWayChannelRole"] = number.two_way_channel_role
    if number.pool_id:
        out["PoolId"] = number.pool_id
    if number.registration_id:
        out["RegistrationId"] = number.registration_id
    if with_tags and state is not None:
        out["Tags"] = tag_list(state, number.arn)
    return out


def _new_e164(state: RegionState, iso_country_code: str, number_type: str) -> str:
    """A valid, unused E.164 number of the country, from libphonenumber's example numbers."""
    kind = phonenumbers.PhoneNumberType.TOLL_FREE if number_type == "TOLL_FREE" else phonenumbers.PhoneNumberType.MOBILE
    example = phonenumbers.example_number_for_type(iso_country_code, kind) or phonenumbers.example_number(
        iso_country_code
    )
    if example is None:
        raise validation_error(
            f"No phone numbers are available in {iso_country_code}.",
            "INVALID_PARAMETER",
            [{"Name": "IsoCountryCode", "Message": "Country not supported for phone numbers."}],
        )
    used = {n.phone_number for n in state.phone_numbers.values()}
    national = phonenumbers.national_significant_number(example)  # keeps Italian leading zeros
    prefix = f"+{example.country_code}"
    # Prefer numbers libphonenumber deems valid; a few plans have ranges too narrow for random
    # digits, so fall back to merely possible numbers of the same length.
    for check in (phonenumbers.is_valid_number, phonenumbers.is_possible_number):
        for width in [w for w in (4, 5, 6, 7, 3, 2) if w < len(national)]:
            for _ in range(50):
                candidate = prefix + national[:-width] + f"{_rng.randrange(10**width):0{width}d}"
                if candidate not in used and check(phonenumbers.parse(candidate)):
                    return candidate
    raise ApiError(
        "ServiceQuotaExceededException", "No more phone numbers are available.", Reason="PHONE_NUMBERS_PER_ACCOUNT"
    )


def _check_number_preference(params: dict[str, Any], country: str, number_type: str) -> None:
    """``NumberPreference`` (botocore 1.44+): refused rather than ignored, since the sandbox cannot honour it.

    The model documents "Number preferences apply only to TEN_DLC requests in the US"; for those the
    sandbox has no inventory to search, and handing out a number that ignores the preference would be
    made-up data, so it says the member is not supported.
    """
    if not params.get("NumberPreference"):
        return
    if (country, number_type) != ("US", "TEN_DLC"):
        raise validation_error(
            "Number preferences apply only to TEN_DLC requests in the US.",
            "INVALID_PARAMETER",
            [{"Name": "NumberPreference", "Message": f"Not available for {number_type} in {country}."}],
        )
    raise validation_error(
        "The sandbox does not emulate NumberPreference.",
        "UNSPECIFIED_PARAMETER_NOT_SUPPORTED",
        [{"Name": "NumberPreference", "Message": "Not emulated by the sandbox."}],
    )


@operation(SMS_VOICE, "RequestPhoneNumber")
def request_phone_number(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _request_phone_number(call))


def _request_phone_number(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    ensure_default_opt_out_list(state, call.now())
    country = params["IsoCountryCode"]
    number_type = params["NumberType"]
    if country not in countries.SUPPORTED:
        raise validation_error(
            f"{country} is not a supported country.",
            "INVALID_PARAMETER",
            [{"Name": "IsoCountryCode", "Message": "Not a supported ISO 3166-1 alpha-2 code."}],
        )
    if number_type in _US_ONLY and country != "US":
        raise validation_error(
            f"{number_type} numbers are available only in US.",
            "INVALID_PARAMETER",
            [{"Name": "NumberType", "Message": f"{number_type} is not available in {country}."}],
        )
    international = bool(params.get("InternationalSendingEnabled", False))
    if international and not (country == "US" and number_type == "TOLL_FREE"):
        raise validation_error(
            "International sending is supported only for US toll-free numbers.",
            "INTERNATIONAL_SENDING_NOT_SUPPORTED",
            [{"Name": "InternationalSendingEnabled", "Message": "Only US TOLL_FREE numbers send internationally."}],
        )
    _check_number_preference(params, country, number_type)
    opt_out_list = "Default"
    if params.get("OptOutListName"):
        _, found = find_opt_out_list(call.world, state, params["OptOutListName"])
        opt_out_list = found.name
    if params.get("RegistrationId"):
        # Registrations are not emulated, so no registration id can exist in the sandbox.
        raise not_found("registration", params["RegistrationId"])
    pool = None
    if params.get("PoolId"):
        _, pool = find_pool(call.world, state, params["PoolId"])
    validate_new_tags(params.get("Tags"))
    number_id = ids.new_id(PHONE_NUMBER)
    number = PhoneNumber(
        phone_number_id=number_id,
        arn=arn_for(state, PHONE_NUMBER, number_id),
        phone_number=_new_e164(state, country, number_type),
        iso_country_code=country,
        message_type=params["MessageType"],
        number_capabilities=list(dict.fromkeys(params["NumberCapabilities"])),
        number_type=number_type,
        monthly_leasing_price=_MONTHLY_PRICE.get(number_type, "1.00"),
        created=call.now(),
        opt_out_list_name=opt_out_list,
        international_sending_enabled=international,
        deletion_protection_enabled=bool(params.get("DeletionProtectionEnabled", False)),
    )
    if pool is not None:
        from reconciler.sandbox.handlers.pools import check_can_join

        # The new number takes the pool's settings, so only the message type can conflict.
        number.opt_out_list_name = pool.opt_out_list_name
        number.two_way_enabled = pool.two_way_enabled
        number.self_managed_opt_outs_enabled = pool.self_managed_opt_outs_enabled
        check_can_join(state, pool, number)
        pool.members.append(number.arn)
        number.pool_id = pool.pool_id
    state.phone_numbers[number_id] = number
    store_tags(state, number.arn, params.get("Tags"))
    return describe(number, state, with_tags=True)


def owned_number(call: Call, value: str) -> PhoneNumber:
    """A number the caller owns; another account's (even shared) number is not found for changes."""
    _, number = find_phone_number(call.world, call.state, value, allow_shared=False)
    return number


@operation(SMS_VOICE, "ReleasePhoneNumber")
def release_phone_number(call: Call) -> dict[str, Any]:
    state = call.state
    number = owned_number(call, call.params["PhoneNumberId"])
    if number.deletion_protection_enabled:
        raise conflict("DELETION_PROTECTION_ENABLED", PHONE_NUMBER, number.phone_number_id)
    if number.pool_id:
        raise conflict("PHONE_NUMBER_ASSOCIATED_TO_POOL", PHONE_NUMBER, number.phone_number_id)
    del state.phone_numbers[number.phone_number_id]
    drop_tags(state, number.arn)
    number.status = "DELETED"
    out = describe(number)
    for key in ("InternationalSendingEnabled", "DeletionProtectionEnabled", "PoolId"):
        out.pop(key, None)  # not members of ReleasePhoneNumberResult
    return out


@operation(SMS_VOICE, "UpdatePhoneNumber")
def update_phone_number(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    number = owned_number(call, params["PhoneNumberId"])
    if number.pool_id:
        # AWS: "If the origination phone number is associated with a pool, an error is returned."
        raise conflict("PHONE_NUMBER_ASSOCIATED_TO_POOL", PHONE_NUMBER, number.phone_number_id)
    if "InternationalSendingEnabled" in params and not international_sending_supported(number):
        raise validation_error(
            "International sending is supported only for US toll-free numbers.",
            "INTERNATIONAL_SENDING_NOT_SUPPORTED",
            [{"Name": "InternationalSendingEnabled", "Message": f"{number.phone_number_id} is not a US TOLL_FREE number."}],
        )
    opt_out_list = number.opt_out_list_name
    if params.get("OptOutListName") is not None:
        _, found = find_opt_out_list(call.world, state, params["OptOutListName"])
        opt_out_list = found.name
    if params.get("TwoWayEnabled") and not (params.get("TwoWayChannelArn") or number.two_way_channel_arn):
        raise validation_error(
            "Two-way messaging needs a TwoWayChannelArn.",
            "TWO_WAY_CHANNEL_NOT_PRESENT",
            [{"Name": "TwoWayChannelArn", "Message": "Required when TwoWayEnabled is true."}],
        )
    # Every check passed: apply all changes together.
    number.opt_out_list_name = opt_out_list
    if "TwoWayEnabled" in params:
        number.two_way_enabled = bool(params["TwoWayEnabled"])
    if params.get("TwoWayChannelArn"):
        number.two_way_channel_arn = params["TwoWayChannelArn"]
    if params.get("TwoWayChannelRole"):
        number.two_way_channel_role = params["TwoWayChannelRole"]
    if "SelfManagedOptOutsEnabled" in params:
        number.self_managed_opt_outs_enabled = bool(params["SelfManagedOptOutsEnabled"])
    if "InternationalSendingEnabled" in params:
        number.international_sending_enabled = bool(params["InternationalSendingEnabled"])
    if "DeletionProtectionEnabled" in params:
        number.deletion_protection_enabled = bool(params["DeletionProtectionEnabled"])
    out = describe(number)
    out.pop("PoolId", None)
    return out


_FILTERS = {
    "status": lambda n: n.status,
    "iso-country-code": lambda n: n.iso_country_code,
    "message-type": lambda n: n.message_type,
    "number-capability": lambda n: n.number_capabilities,
    "number-type": lambda n: n.number_type,
    "two-way-enabled": lambda n: n.two_way_enabled,
    "self-managed-opt-outs-enabled": lambda n: n.self_managed_opt_outs_enabled,
    "opt-out-list-name": lambda n: n.opt_out_list_name,
    "deletion-protection-enabled": lambda n: n.deletion_protection_enabled,
    "two-way-channel-arn": lambda n: n.two_way_channel_arn,
}
_FILTER_VALUES = {
    "status": NUMBER_STATUSES,
    "message-type": MESSAGE_TYPES,
    "number-capability": CAPABILITIES,
    "number-type": NUMBER_TYPES,
    "two-way-enabled": BOOLEAN_VALUES,
    "self-managed-opt-outs-enabled": BOOLEAN_VALUES,
    "deletion-protection-enabled": BOOLEAN_VALUES,
}


@operation(SMS_VOICE, "DescribePhoneNumbers")
def describe_phone_numbers(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    refuse_owner_with_ids(params, "PhoneNumberIds")
    shared = params.get("Owner") == "SHARED"
    predicate = filter_predicate(params.get("Filters"), _FILTERS, _FILTER_VALUES)
    wanted = params.get("PhoneNumberIds")
    if wanted:
        numbers: dict[str, PhoneNumber] = {}
        for value in wanted:
            _, number = find_phone_number(call.world, state, value, allow_shared=True)
            if predicate is None or predicate(None, number):
                numbers[number.arn] = number
        return {"PhoneNumbers": [describe(n) for n in numbers.values()]}
    scope = f"DescribePhoneNumbers/{call.account}/{call.region}/{'SHARED' if shared else 'SELF'}"
    if shared:
        pairs = [(record.arn, record) for _, record in shared_records(call.world, call.account, call.region, PHONE_NUMBER)]
        page, token = page_list(pairs, params, scope, predicate)
    else:
        page, token = page_mapping(state.phone_numbers, params, scope, predicate)
    out: dict[str, Any] = {"PhoneNumbers": [describe(n) for _, n in page]}
    if token:
        out["NextToken"] = token
    return out
