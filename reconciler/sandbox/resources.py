"""Finding sms-voice resources by id, name, number or ARN, in the caller's account or shared with it.

``resolve_arn`` is the one place that maps an ARN to its record (RAM uses it to check that a
resource exists and who owns it). The ``find_*`` helpers resolve the identifiers the API accepts
(an id or name, or a full ARN) for the caller and raise ``ResourceNotFoundException`` as AWS does.
Resources owned by another account are reachable only by full ARN and only while shared with the
caller (``reconciler.sandbox.sharing``), as AWS documents for shared resources.
"""

from __future__ import annotations

import copy
import json
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.countries import of_number_region
from reconciler.sandbox import ids
from reconciler.sandbox.errors import ApiError, not_found
from reconciler.sandbox.ids import (
    CONFIGURATION_SET,
    OPT_OUT_LIST,
    PHONE_NUMBER,
    POOL,
    PROTECT_CONFIGURATION,
    SENDER_ID,
    arn,
    parse_arn,
)
from reconciler.sandbox.state import (
    ConfigurationSet,
    OptOutList,
    PhoneNumber,
    Pool,
    ProtectConfiguration,
    RegionState,
    SenderId,
)

if TYPE_CHECKING:
    from reconciler.sandbox.registry import Call
    from reconciler.sandbox.state import World

RESOURCE_TYPES = ids.ARN_RESOURCE_TYPES
# The resource types RAM can share (AWS RAM's sms-voice resource types).
SHAREABLE_TYPES = (PHONE_NUMBER, SENDER_ID, POOL, OPT_OUT_LIST)
DEFAULT_OPT_OUT_LIST = "Default"

Record = PhoneNumber | SenderId | Pool | OptOutList | ProtectConfiguration | ConfigurationSet

_TYPE_OF: dict[type, str] = {
    PhoneNumber: PHONE_NUMBER,
    SenderId: SENDER_ID,
    Pool: POOL,
    OptOutList: OPT_OUT_LIST,
    ProtectConfiguration: PROTECT_CONFIGURATION,
    ConfigurationSet: CONFIGURATION_SET,
}


def arn_for(state: RegionState, resource_type: str, resource_id: str) -> str:
    """The ARN of a resource of ``state``'s account and region (``resource_id`` as in the ARN)."""
    return arn(state.region, state.account, resource_type, resource_id)


def resource_type_of(record: object) -> str:
    return _TYPE_OF[type(record)]


def ensure_default_opt_out_list(state: RegionState, now: float) -> OptOutList:
    """The ``Default`` opt-out list exists in every account and Region.

    Assumption: it is materialised the first time the sandbox looks at the Region, stamped with
    that time, and it counts towards the 25-list quota, as AWS's quota page says.
    """
    existing = state.opt_out_lists.get(DEFAULT_OPT_OUT_LIST)
    if existing is None:
        existing = OptOutList(DEFAULT_OPT_OUT_LIST, arn_for(state, OPT_OUT_LIST, DEFAULT_OPT_OUT_LIST), now)
        state.opt_out_lists[DEFAULT_OPT_OUT_LIST] = existing
    return existing


def _lookup(state: RegionState, resource_type: str, resource_id: str) -> Record | None:
    if resource_type == PHONE_NUMBER:
        return state.phone_numbers.get(resource_id)
    if resource_type == SENDER_ID:
        return state.sender_ids.get(resource_id)
    if resource_type == POOL:
        return state.pools.get(resource_id)
    if resource_type == OPT_OUT_LIST:
        return state.opt_out_lists.get(resource_id)
    if resource_type == PROTECT_CONFIGURATION:
        return state.protect_configurations.get(resource_id)
    if resource_type == CONFIGURATION_SET:
        return state.configuration_sets.get(resource_id)
    return None


def resolve_arn(world: World, value: str) -> tuple[RegionState, Any] | None:
    """The owning Region state and record of an sms-voice ARN, or ``None`` if there is none."""
    parsed = parse_arn(value)
    if parsed is None:
        return None
    found = world.regions.get((parsed.account, parsed.region))
    if found is None:
        # An account the sandbox has never seen has nothing (a lookup must not create accounts).
        return None
    if parsed.resource_type == OPT_OUT_LIST and parsed.resource_id == DEFAULT_OPT_OUT_LIST:
        return found, ensure_default_opt_out_list(found, world.clock.now())
    record = _lookup(found, parsed.resource_type, parsed.resource_id)
    if record is None or record.arn != value:
        return None
    return found, record


def shared_usable(world: World, consumer: str, region: str, resource_arn: str) -> bool:
    """Whether ``consumer`` may use another account's resource (RAM share, members in the same share)."""
    try:
        from reconciler.sandbox import sharing
    except ImportError:  # RAM sharing not installed: nothing is shared
        return False
    return bool(sharing.usable_by(world, consumer, region, resource_arn))


def shared_records(world: World, consumer: str, region: str, resource_type: str) -> list[tuple[RegionState, Any]]:
    """Other accounts' resources of ``resource_type`` (e.g. ``phone-number``) shared with ``consumer``."""
    try:
        from reconciler.sandbox import sharing
    except ImportError:
        return []
    ram_type = sharing.ARN_PREFIX_TO_TYPE.get(resource_type, resource_type)
    return list(sharing.shared_resources(world, consumer, region, ram_type))


def _by_arn(world: World, state: RegionState, value: str, resource_type: str) -> tuple[RegionState, Any] | None:
    """Resolve an ARN for ``state``'s caller: its own resource, or another account's shared one."""
    parsed = parse_arn(value)
    if parsed is None or parsed.resource_type != resource_type or parsed.region != state.region:
        return None
    found = resolve_arn(world, value)
    if found is None:
        return None
    owner, _record = found
    if owner.account == state.account:
        return found
    if shared_usable(world, state.account, state.region, value):
        return found
    return None


def refuse_owner_with_ids(params: dict[str, Any], ids_member: str) -> None:
    """AWS: "The ``Owner`` and ``<ids>`` parameters can't be used at the same time" (the member
    documentation of DescribeOptOutLists, DescribePhoneNumbers, DescribePools, DescribeSenderIds).

    Refused with the model's reason ``PARAMETERS_CANNOT_BE_USED_TOGETHER``; the message wording is
    an assumption. The ids member counts as given when present at all, even empty (strictest).
    """
    if "Owner" in params and ids_member in params:
        raise ApiError(
            "ValidationException",
            f"The Owner and {ids_member} parameters can't be used at the same time.",
            Reason="PARAMETERS_CANNOT_BE_USED_TOGETHER",
            Fields=[
                {"Name": "Owner", "Message": f"Owner can't be used together with {ids_member}."},
                {"Name": ids_member, "Message": f"{ids_member} can't be used together with Owner."},
            ],
        )


def find(
    world: World,
    state: RegionState,
    resource_type: str,
    value: str,
    allow_shared: bool = False,
    report_type: str | None = None,
) -> tuple[RegionState, Any]:
    """Resolve an id/name (own account only) or ARN (own, or shared when ``allow_shared``)."""
    if value.startswith("arn:"):
        found = _by_arn(world, state, value, resource_type)
        if found is not None and (allow_shared or found[0].account == state.account):
            return found
        raise not_found(report_type or resource_type, value)
    key = value
    if resource_type == OPT_OUT_LIST and value == DEFAULT_OPT_OUT_LIST:
        ensure_default_opt_out_list(state, world.clock.now())
    record = _lookup(state, resource_type, key)
    if record is None:
        raise not_found(report_type or resource_type, value)
    return state, record


def find_phone_number(world: World, state: RegionState, value: str, allow_shared: bool = False) -> tuple[RegionState, PhoneNumber]:
    """By ``phone-…`` id, ARN, or (own numbers only) the E.164 number itself."""
    if not value.startswith("arn:") and value.startswith("+"):
        for number in state.phone_numbers.values():
            if number.phone_number == value:
                return state, number
        raise not_found(PHONE_NUMBER, value)
    return find(world, state, PHONE_NUMBER, value, allow_shared)


def find_sender_id(
    world: World, state: RegionState, value: str, iso_country_code: str | None, allow_shared: bool = False
) -> tuple[RegionState, SenderId]:
    if value.startswith("arn:"):
        owner, record = find(world, state, SENDER_ID, value, allow_shared)
        if iso_country_code is not None and record.iso_country_code != iso_country_code:
            raise not_found(SENDER_ID, value)
        return owner, record
    if iso_country_code is None:
        raise not_found(SENDER_ID, value)
    return find(world, state, SENDER_ID, ids.sender_id_key(value, iso_country_code), allow_shared)


def find_pool(world: World, state: RegionState, value: str, allow_shared: bool = False) -> tuple[RegionState, Pool]:
    return find(world, state, POOL, value, allow_shared)


def find_opt_out_list(world: World, state: RegionState, value: str, allow_shared: bool = False) -> tuple[RegionState, OptOutList]:
    return find(world, state, OPT_OUT_LIST, value, allow_shared)


def find_protect_configuration(world: World, state: RegionState, value: str) -> tuple[RegionState, ProtectConfiguration]:
    return find(world, state, PROTECT_CONFIGURATION, value)


def find_configuration_set(world: World, state: RegionState, value: str) -> tuple[RegionState, ConfigurationSet]:
    return find(world, state, CONFIGURATION_SET, value)


def find_origination_identity(
    world: World,
    state: RegionState,
    value: str,
    iso_country_code: str | None = None,
    allow_shared: bool = False,
    allow_pool: bool = False,
) -> tuple[RegionState, PhoneNumber | SenderId | Pool]:
    """A phone number (id, ARN or E.164), sender ID (with its country, or ARN) or, if allowed, a pool."""
    parsed = parse_arn(value) if value.startswith("arn:") else None
    if parsed is not None:
        if parsed.resource_type == PHONE_NUMBER:
            return find_phone_number(world, state, value, allow_shared)
        if parsed.resource_type == SENDER_ID:
            return find_sender_id(world, state, value, iso_country_code, allow_shared)
        if parsed.resource_type == POOL and allow_pool:
            return find_pool(world, state, value, allow_shared)
        raise not_found(PHONE_NUMBER, value)
    if value.startswith("arn:"):
        raise ApiError(
            "ValidationException",
            f"{value} is not a valid origination identity ARN.",
            Reason="INVALID_ARN",
            Fields=[{"Name": "OriginationIdentity", "Message": "Not an sms-voice ARN."}],
        )
    if value.startswith("phone-") or value.startswith("+"):
        return find_phone_number(world, state, value)
    if allow_pool and value.startswith("pool-"):
        return find_pool(world, state, value)
    if value.isdigit():
        # A number without "+" (short codes are written that way too).
        for number in state.phone_numbers.values():
            if number.phone_number.lstrip("+") == value:
                return state, number
    if iso_country_code is not None:
        return find_sender_id(world, state, value, iso_country_code)
    matches = [s for s in state.sender_ids.values() if s.sender_id == value]
    if len(matches) == 1:
        return state, matches[0]
    raise not_found(SENDER_ID, value)


def destination_country(value: str, field: str = "DestinationPhoneNumber") -> str:
    """The ISO country of an E.164 number; ValidationException when it is not a valid number."""
    import phonenumbers

    from reconciler.sandbox.errors import validation_error

    try:
        parsed = phonenumbers.parse(value if value.startswith("+") else "+" + value)
    except phonenumbers.NumberParseException:
        parsed = None
    region = None
    if parsed is not None:
        # A number outside any numbering plan's valid ranges (fictional drama numbers, for example)
        # still belongs to its calling code's main country.
        region = phonenumbers.region_code_for_number(parsed) or phonenumbers.region_code_for_country_code(
            parsed.country_code or 0
        )
        if region in ("ZZ", "001"):
            region = None
    if parsed is None or not value.startswith("+") or not phonenumbers.is_possible_number(parsed) or not region:
        raise validation_error(
            f"{field} must be a valid phone number in E.164 format.",
            "INVALID_PARAMETER",
            [{"Name": field, "Message": "Not a valid E.164 phone number."}],
        )
    return of_number_region(str(region))


# ---- ClientToken idempotency -------------------------------------------------------------------

_IDEMPOTENCY: weakref.WeakKeyDictionary[World, dict[tuple[str, str, str, str], tuple[str, dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


def idempotent(call: Call, produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a Create/Request/Associate handler at most once per ``ClientToken``.

    botocore fills ``ClientToken`` itself and resends the same one when it retries, so a request
    whose response was lost (a dropped connection) is not applied twice: the retry gets the first
    result. The same token with different parameters fails with ValidationException
    (``INVALID_REQUEST``). Tokens are kept for the life of the sandbox process, not in snapshots.
    """
    from reconciler.sandbox.errors import validation_error

    token = call.params.get("ClientToken")
    if not token:
        return produce()
    fingerprint = json.dumps(
        {k: v for k, v in call.params.items() if k != "ClientToken"}, sort_keys=True, default=str
    )
    seen = _IDEMPOTENCY.setdefault(call.world, {})
    key = (call.account, call.region, call.operation, str(token))
    previous = seen.get(key)
    if previous is not None:
        if previous[0] != fingerprint:
            raise validation_error(
                "The ClientToken was already used with different parameters.",
                "INVALID_REQUEST",
                [{"Name": "ClientToken", "Message": "Reused with different parameters."}],
            )
        return copy.deepcopy(previous[1])
    result = produce()
    seen[key] = (fingerprint, copy.deepcopy(result))
    return result
