"""CreatePool, DescribePools, UpdatePool, DeletePool, AssociateOriginationIdentity,
DisassociateOriginationIdentity, ListPoolOriginationIdentities.

A pool starts from one origination identity and takes that phone number's opt-out list, two-way
and self-managed opt-out settings (a sender ID carries none, so the pool gets the Default list).
Every identity added later must match the pool (AWS: "The configuration of every phone number that
you add to a pool has to match"), otherwise ConflictException with the model's *_MISMATCH reason.
UpdatePool settings are copied to the member numbers so the two never disagree. The last identity
cannot leave a pool (LAST_PHONE_NUMBER); deleting a pool frees its members.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import ids
from reconciler.sandbox.errors import conflict, not_found
from reconciler.sandbox.handlers.tags import drop_tags, store_tags, tag_list, validate_new_tags
from reconciler.sandbox.ids import PHONE_NUMBER, POOL, SENDER_ID
from reconciler.sandbox.paging import BOOLEAN_VALUES, filter_predicate, page_list, page_mapping
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import (
    arn_for,
    ensure_default_opt_out_list,
    find_opt_out_list,
    find_origination_identity,
    find_pool,
    idempotent,
    refuse_owner_with_ids,
    shared_records,
)
from reconciler.sandbox.state import PhoneNumber, Pool, RegionState, SenderId


def describe(pool: Pool, state: RegionState | None = None, with_tags: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "PoolArn": pool.arn,
        "PoolId": pool.pool_id,
        "Status": pool.status,
        "MessageType": pool.message_type,
        "TwoWayEnabled": pool.two_way_enabled,
        "SelfManagedOptOutsEnabled": pool.self_managed_opt_outs_enabled,
        "OptOutListName": pool.opt_out_list_name,
        "SharedRoutesEnabled": pool.shared_routes_enabled,
        "DeletionProtectionEnabled": pool.deletion_protection_enabled,
        "CreatedTimestamp": ids.timestamp(pool.created),
    }
    if pool.two_way_channel_arn:
        out["TwoWayChannelArn"] = pool.two_way_channel_arn
    if pool.two_way_channel_role:
        out["TwoWayChannelRole"] = pool.two_way_channel_role
    if with_tags and state is not None:
        out["Tags"] = tag_list(state, pool.arn)
    return out


def _identity_ref(identity: PhoneNumber | SenderId) -> tuple[str, str]:
    """(resource type, the id AWS reports for it) for error fields and outputs."""
    if isinstance(identity, PhoneNumber):
        return PHONE_NUMBER, identity.phone_number_id
    return SENDER_ID, identity.sender_id


def current_pool(state: RegionState, identity: PhoneNumber) -> Pool | None:
    return state.pools.get(identity.pool_id) if identity.pool_id else None


def check_can_join(state: RegionState, pool: Pool, identity: PhoneNumber | SenderId) -> None:
    """Refuse an identity already in this pool, a phone number already in another pool, or an
    identity whose settings differ from the pool's.

    AWS (AssociateOriginationIdentity): "If the origination identity is a phone number and is
    already associated with another pool, an error is returned. A sender ID can be associated with
    multiple pools."
    """
    kind, identity_id = _identity_ref(identity)
    if identity.arn in pool.members:
        raise conflict("RESOURCE_ALREADY_ASSOCIATED", kind, identity_id)
    if isinstance(identity, PhoneNumber) and current_pool(state, identity) is not None:
        raise conflict("PHONE_NUMBER_ASSOCIATED_TO_POOL", kind, identity_id)
    if isinstance(identity, PhoneNumber):
        if identity.message_type != pool.message_type:
            raise conflict("MESSAGE_TYPE_MISMATCH", kind, identity_id)
        if identity.two_way_enabled != pool.two_way_enabled:
            raise conflict("TWO_WAY_CONFIG_MISMATCH", kind, identity_id)
        if identity.self_managed_opt_outs_enabled != pool.self_managed_opt_outs_enabled:
            raise conflict("SELF_MANAGED_OPT_OUTS_MISMATCH", kind, identity_id)
        if identity.opt_out_list_name != pool.opt_out_list_name:
            raise conflict("OPT_OUT_LIST_MISMATCH", kind, identity_id)
    elif pool.message_type not in identity.message_types:
        raise conflict("MESSAGE_TYPE_MISMATCH", kind, identity_id)


def _join(pool: Pool, identity: PhoneNumber | SenderId) -> None:
    pool.members.append(identity.arn)
    if isinstance(identity, PhoneNumber):
        identity.pool_id = pool.pool_id


def _own_identity(call: Call, value: str, iso_country_code: str | None) -> PhoneNumber | SenderId:
    _, identity = find_origination_identity(call.world, call.state, value, iso_country_code)
    if not isinstance(identity, PhoneNumber | SenderId):
        raise not_found(PHONE_NUMBER, value)
    return identity


@operation(SMS_VOICE, "CreatePool")
def create_pool(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _create_pool(call))


def _create_pool(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    ensure_default_opt_out_list(state, call.now())
    identity = _own_identity(call, params["OriginationIdentity"], params.get("IsoCountryCode"))
    validate_new_tags(params.get("Tags"))
    pool_id = ids.new_id(POOL)
    pool = Pool(
        pool_id=pool_id,
        arn=arn_for(state, POOL, pool_id),
        message_type=params["MessageType"],
        created=call.now(),
        deletion_protection_enabled=bool(params.get("DeletionProtectionEnabled", False)),
    )
    if isinstance(identity, PhoneNumber):
        pool.two_way_enabled = identity.two_way_enabled
        pool.two_way_channel_arn = identity.two_way_channel_arn
        pool.two_way_channel_role = identity.two_way_channel_role
        pool.self_managed_opt_outs_enabled = identity.self_managed_opt_outs_enabled
        pool.opt_out_list_name = identity.opt_out_list_name
    check_can_join(state, pool, identity)
    _join(pool, identity)
    state.pools[pool_id] = pool
    store_tags(state, pool.arn, params.get("Tags"))
    return describe(pool, state, with_tags=True)


def _owned_pool(call: Call) -> Pool:
    _, pool = find_pool(call.world, call.state, call.params["PoolId"])
    return pool


def _member_record(state: RegionState, member_arn: str) -> PhoneNumber | SenderId | None:
    parsed = ids.parse_arn(member_arn)
    if parsed is None:
        return None
    if parsed.resource_type == PHONE_NUMBER:
        return state.phone_numbers.get(parsed.resource_id)
    if parsed.resource_type == SENDER_ID:
        return state.sender_ids.get(parsed.resource_id)
    return None


@operation(SMS_VOICE, "UpdatePool")
def update_pool(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    pool = _owned_pool(call)
    opt_out_list = pool.opt_out_list_name
    if params.get("OptOutListName") is not None:
        _, found = find_opt_out_list(call.world, state, params["OptOutListName"])
        opt_out_list = found.name
    pool.opt_out_list_name = opt_out_list
    if "TwoWayEnabled" in params:
        pool.two_way_enabled = bool(params["TwoWayEnabled"])
    if params.get("TwoWayChannelArn"):
        pool.two_way_channel_arn = params["TwoWayChannelArn"]
    if params.get("TwoWayChannelRole"):
        pool.two_way_channel_role = params["TwoWayChannelRole"]
    if "SelfManagedOptOutsEnabled" in params:
        pool.self_managed_opt_outs_enabled = bool(params["SelfManagedOptOutsEnabled"])
    if "SharedRoutesEnabled" in params:
        pool.shared_routes_enabled = bool(params["SharedRoutesEnabled"])
    if "DeletionProtectionEnabled" in params:
        pool.deletion_protection_enabled = bool(params["DeletionProtectionEnabled"])
    for member in pool.members:
        record = _member_record(state, member)
        if isinstance(record, PhoneNumber):
            record.opt_out_list_name = pool.opt_out_list_name
            record.two_way_enabled = pool.two_way_enabled
            record.two_way_channel_arn = pool.two_way_channel_arn
            record.two_way_channel_role = pool.two_way_channel_role
            record.self_managed_opt_outs_enabled = pool.self_managed_opt_outs_enabled
    return describe(pool)


@operation(SMS_VOICE, "DeletePool")
def delete_pool(call: Call) -> dict[str, Any]:
    state = call.state
    pool = _owned_pool(call)
    if pool.deletion_protection_enabled:
        raise conflict("DELETION_PROTECTION_ENABLED", POOL, pool.pool_id)
    for member in pool.members:
        record = _member_record(state, member)
        if isinstance(record, PhoneNumber):
            record.pool_id = None
    del state.pools[pool.pool_id]
    drop_tags(state, pool.arn)
    pool.status = "DELETING"
    out = describe(pool)
    out.pop("DeletionProtectionEnabled")
    return out


def _association_output(pool: Pool, identity: PhoneNumber | SenderId) -> dict[str, Any]:
    _, identity_id = _identity_ref(identity)
    return {
        "PoolArn": pool.arn,
        "PoolId": pool.pool_id,
        "OriginationIdentityArn": identity.arn,
        "OriginationIdentity": identity_id,
        "IsoCountryCode": identity.iso_country_code,
    }


@operation(SMS_VOICE, "AssociateOriginationIdentity")
def associate_origination_identity(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _associate_origination_identity(call))


def _associate_origination_identity(call: Call) -> dict[str, Any]:
    params = call.params
    pool = _owned_pool(call)
    identity = _own_identity(call, params["OriginationIdentity"], params.get("IsoCountryCode"))
    check_can_join(call.state, pool, identity)
    _join(pool, identity)
    return _association_output(pool, identity)


@operation(SMS_VOICE, "DisassociateOriginationIdentity")
def disassociate_origination_identity(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _disassociate_origination_identity(call))


def _disassociate_origination_identity(call: Call) -> dict[str, Any]:
    params = call.params
    pool = _owned_pool(call)
    identity = _own_identity(call, params["OriginationIdentity"], params.get("IsoCountryCode"))
    kind, identity_id = _identity_ref(identity)
    if identity.arn not in pool.members:
        raise conflict("PHONE_NUMBER_NOT_ASSOCIATED_TO_POOL", kind, identity_id)
    if len(pool.members) == 1:
        # Strictest reading: a pool always has at least one identity; delete the pool instead.
        raise conflict("LAST_PHONE_NUMBER", POOL, pool.pool_id)
    pool.members.remove(identity.arn)
    if isinstance(identity, PhoneNumber):
        identity.pool_id = None
    return _association_output(pool, identity)


def _identity_metadata(identity: PhoneNumber | SenderId) -> dict[str, Any]:
    _, identity_id = _identity_ref(identity)
    out: dict[str, Any] = {
        "OriginationIdentityArn": identity.arn,
        "OriginationIdentity": identity_id,
        "IsoCountryCode": identity.iso_country_code,
        "NumberCapabilities": list(identity.number_capabilities) if isinstance(identity, PhoneNumber) else ["SMS"],
    }
    if isinstance(identity, PhoneNumber):
        out["PhoneNumber"] = identity.phone_number
    return out


_MEMBER_FILTERS = {
    "iso-country-code": lambda i: i.iso_country_code,
    "number-capability": lambda i: i.number_capabilities if isinstance(i, PhoneNumber) else ["SMS"],
}


@operation(SMS_VOICE, "ListPoolOriginationIdentities")
def list_pool_origination_identities(call: Call) -> dict[str, Any]:
    params = call.params
    owner, pool = find_pool(call.world, call.state, params["PoolId"], allow_shared=True)
    predicate = filter_predicate(
        params.get("Filters"), _MEMBER_FILTERS, {"number-capability": ("SMS", "VOICE", "MMS", "RCS")}
    )
    pairs = [(arn, r) for arn in pool.members if (r := _member_record(owner, arn)) is not None]
    page, token = page_list(pairs, params, f"ListPoolOriginationIdentities/{pool.arn}", predicate)
    out: dict[str, Any] = {
        "PoolArn": pool.arn,
        "PoolId": pool.pool_id,
        "OriginationIdentities": [_identity_metadata(i) for _, i in page],
    }
    if token:
        out["NextToken"] = token
    return out


_FILTERS = {
    "status": lambda p: p.status,
    "message-type": lambda p: p.message_type,
    "two-way-enabled": lambda p: p.two_way_enabled,
    "self-managed-opt-outs-enabled": lambda p: p.self_managed_opt_outs_enabled,
    "opt-out-list-name": lambda p: p.opt_out_list_name,
    "shared-routes-enabled": lambda p: p.shared_routes_enabled,
    "deletion-protection-enabled": lambda p: p.deletion_protection_enabled,
    "two-way-channel-arn": lambda p: p.two_way_channel_arn,
}
_FILTER_VALUES = {
    "status": ("CREATING", "ACTIVE", "DELETING"),
    "message-type": ("TRANSACTIONAL", "PROMOTIONAL"),
    "two-way-enabled": BOOLEAN_VALUES,
    "self-managed-opt-outs-enabled": BOOLEAN_VALUES,
    "shared-routes-enabled": BOOLEAN_VALUES,
    "deletion-protection-enabled": BOOLEAN_VALUES,
}


@operation(SMS_VOICE, "DescribePools")
def describe_pools(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    refuse_owner_with_ids(params, "PoolIds")
    shared = params.get("Owner") == "SHARED"
    predicate = filter_predicate(params.get("Filters"), _FILTERS, _FILTER_VALUES)
    wanted = params.get("PoolIds")
    if wanted:
        found: dict[str, Pool] = {}
        for value in wanted:
            _, pool = find_pool(call.world, state, value, allow_shared=True)
            if predicate is None or predicate(None, pool):
                found[pool.arn] = pool
        return {"Pools": [describe(p) for p in found.values()]}
    scope = f"DescribePools/{call.account}/{call.region}/{'SHARED' if shared else 'SELF'}"
    if shared:
        pairs = [(r.arn, r) for _, r in shared_records(call.world, call.account, call.region, POOL)]
        page, token = page_list(pairs, params, scope, predicate)
    else:
        page, token = page_mapping(state.pools, params, scope, predicate)
    out: dict[str, Any] = {"Pools": [describe(p) for _, p in page]}
    if token:
        out["NextToken"] = token
    return out
