"""CreateOptOutList, DeleteOptOutList, DescribeOptOutLists, PutOptedOutNumber,
DeleteOptedOutNumber, DescribeOptedOutNumbers, and the sandbox-only :func:`simulate_inbound_stop`.

- The ``Default`` list exists in every account and Region and counts towards the quota of 25
  lists (``ServiceQuotaExceededException`` reason ``OPT_OUT_LISTS_PER_ACCOUNT``). It cannot be
  deleted, and neither can a list a phone number or pool uses (ConflictException
  ``RESOURCE_DELETION_NOT_ALLOWED``; AWS documents an error for lists "in-use").
- Entries keep ``EndUserOptedOut``: true only for a recipient who replied STOP
  (:func:`simulate_inbound_stop`); PutOptedOutNumber of a number already listed keeps its entry.
- A number can be deleted from a list at most once every 30 days (AWS's documented rule): a second
  delete within 30 days fails with ValidationException ``PHONE_NUMBER_CANNOT_BE_OPTED_IN``.
- Entries are a ``SortedDict`` so a page of a million-number list costs O(log n + page).
- Lists shared through RAM are used by full ARN and only while every identity that uses the list
  is in the same share.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import ids, sharing
from reconciler.sandbox.errors import ApiError, conflict, not_found, validation_error
from reconciler.sandbox.handlers.tags import drop_tags, store_tags, tag_list, validate_new_tags
from reconciler.sandbox.ids import OPT_OUT_LIST, OPTED_OUT_NUMBER
from reconciler.sandbox.paging import (
    BOOLEAN_VALUES,
    filter_predicate,
    page_index,
    page_list,
    page_size,
    page_sorted,
)
from reconciler.sandbox.registry import SMS_VOICE, Call, operation
from reconciler.sandbox.resources import (
    DEFAULT_OPT_OUT_LIST,
    arn_for,
    destination_country,
    ensure_default_opt_out_list,
    find_opt_out_list,
    find_origination_identity,
    idempotent,
    refuse_owner_with_ids,
    shared_records,
)
from reconciler.sandbox.state import (
    OptOutEntry,
    OptOutList,
    PhoneNumber,
    Pool,
    RegionState,
    World,
    as_opt_out_entries,
)

MAX_OPT_OUT_LISTS = 25
DELETE_INTERVAL_SECONDS = 30 * 24 * 3600
# Keywords that opt a recipient out when sent to an origination identity (AWS's default set).
STOP_KEYWORDS = frozenset(
    {"ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP", "TD", "UNSUBSCRIBE"}
)


def _list_info(opt_out_list: OptOutList) -> dict[str, Any]:
    return {
        "OptOutListArn": opt_out_list.arn,
        "OptOutListName": opt_out_list.name,
        "CreatedTimestamp": ids.timestamp(opt_out_list.created),
    }


def _entry_info(number: str, entry: OptOutEntry) -> dict[str, Any]:
    return {
        "OptedOutNumber": number,
        "OptedOutTimestamp": ids.timestamp(entry.opted_out_timestamp),
        "EndUserOptedOut": entry.end_user_opted_out,
    }


@operation(SMS_VOICE, "CreateOptOutList")
def create_opt_out_list(call: Call) -> dict[str, Any]:
    return idempotent(call, lambda: _create_opt_out_list(call))


def _create_opt_out_list(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    ensure_default_opt_out_list(state, call.now())
    name = params["OptOutListName"]
    if name in state.opt_out_lists:
        raise conflict("RESOURCE_ALREADY_EXISTS", OPT_OUT_LIST, name)
    if len(state.opt_out_lists) >= MAX_OPT_OUT_LISTS:
        raise ApiError(
            "ServiceQuotaExceededException",
            f"An account can have at most {MAX_OPT_OUT_LISTS} opt-out lists per Region, including Default.",
            Reason="OPT_OUT_LISTS_PER_ACCOUNT",
        )
    validate_new_tags(params.get("Tags"))
    opt_out_list = OptOutList(name=name, arn=arn_for(state, OPT_OUT_LIST, name), created=call.now())
    state.opt_out_lists[name] = opt_out_list
    store_tags(state, opt_out_list.arn, params.get("Tags"))
    return {**_list_info(opt_out_list), "Tags": tag_list(state, opt_out_list.arn)}


def users_of(state: RegionState, name: str) -> list[PhoneNumber | Pool]:
    numbers: list[PhoneNumber | Pool] = [n for n in state.phone_numbers.values() if n.opt_out_list_name == name]
    return numbers + [p for p in state.pools.values() if p.opt_out_list_name == name]


@operation(SMS_VOICE, "DeleteOptOutList")
def delete_opt_out_list(call: Call) -> dict[str, Any]:
    state = call.state
    _, opt_out_list = find_opt_out_list(call.world, state, call.params["OptOutListName"])
    if opt_out_list.name == DEFAULT_OPT_OUT_LIST or users_of(state, opt_out_list.name):
        raise conflict("RESOURCE_DELETION_NOT_ALLOWED", OPT_OUT_LIST, opt_out_list.name)
    del state.opt_out_lists[opt_out_list.name]
    drop_tags(state, opt_out_list.arn)
    return _list_info(opt_out_list)


@operation(SMS_VOICE, "DescribeOptOutLists")
def describe_opt_out_lists(call: Call) -> dict[str, Any]:
    params = call.params
    state = call.state
    ensure_default_opt_out_list(state, call.now())
    refuse_owner_with_ids(params, "OptOutListNames")
    shared = params.get("Owner") == "SHARED"
    wanted = params.get("OptOutListNames")
    if wanted:
        found: dict[str, OptOutList] = {}
        for value in wanted:
            _, opt_out_list = find_opt_out_list(call.world, state, value, allow_shared=True)
            found[opt_out_list.arn] = opt_out_list
        return {"OptOutLists": [_list_info(o) for o in found.values()]}
    scope = f"DescribeOptOutLists/{call.account}/{call.region}/{'SHARED' if shared else 'SELF'}"
    if shared:
        pairs = [(r.arn, r) for _, r in shared_records(call.world, call.account, call.region, OPT_OUT_LIST)]
        page, token = page_list(pairs, params, scope)
    else:
        page, token = page_list(list(state.opt_out_lists.items()), params, scope)
    out: dict[str, Any] = {"OptOutLists": [_list_info(o) for _, o in page]}
    if token:
        out["NextToken"] = token
    return out


def _usable_list(call: Call) -> OptOutList:
    owner, opt_out_list = find_opt_out_list(call.world, call.state, call.params["OptOutListName"], allow_shared=True)
    # A shared list: the grant must allow this operation (a resource policy may allow less).
    sharing.authorize(call.world, call.account, owner, opt_out_list.arn, f"sms-voice:{call.operation}")
    return opt_out_list


@operation(SMS_VOICE, "PutOptedOutNumber")
def put_opted_out_number(call: Call) -> dict[str, Any]:
    number = call.params["OptedOutNumber"]
    destination_country(number, "OptedOutNumber")
    opt_out_list = _usable_list(call)
    entry = opt_out_list.entries.get(number)
    if entry is None:
        entry = OptOutEntry(opted_out_timestamp=call.now(), end_user_opted_out=False)
        opt_out_list.entries[number] = entry
    return {"OptOutListArn": opt_out_list.arn, "OptOutListName": opt_out_list.name, **_entry_info(number, entry)}


@operation(SMS_VOICE, "DeleteOptedOutNumber")
def delete_opted_out_number(call: Call) -> dict[str, Any]:
    number = call.params["OptedOutNumber"]
    destination_country(number, "OptedOutNumber")
    opt_out_list = _usable_list(call)
    entry = opt_out_list.entries.get(number)
    if entry is None:
        raise not_found(OPTED_OUT_NUMBER, number)
    now = call.now()
    last = opt_out_list.last_deleted.get(number)
    if last is not None and now - last < DELETE_INTERVAL_SECONDS:
        raise validation_error(
            "A phone number can be removed from an opt-out list only once every 30 days.",
            "PHONE_NUMBER_CANNOT_BE_OPTED_IN",
            [{"Name": "OptedOutNumber", "Message": "Removed less than 30 days ago."}],
        )
    del opt_out_list.entries[number]
    opt_out_list.last_deleted[number] = now
    return {"OptOutListArn": opt_out_list.arn, "OptOutListName": opt_out_list.name, **_entry_info(number, entry)}


_FILTERS = {"end-user-opted-out": lambda e: e.end_user_opted_out}


@operation(SMS_VOICE, "DescribeOptedOutNumbers")
def describe_opted_out_numbers(call: Call) -> dict[str, Any]:
    params = call.params
    opt_out_list = _usable_list(call)
    predicate = filter_predicate(params.get("Filters"), _FILTERS, {"end-user-opted-out": BOOLEAN_VALUES})
    head = {"OptOutListArn": opt_out_list.arn, "OptOutListName": opt_out_list.name}
    wanted = params.get("OptedOutNumbers")
    if wanted:
        for number in wanted:
            destination_country(number, "OptedOutNumbers")
        found = []
        for number in dict.fromkeys(wanted):
            entry = opt_out_list.entries.get(number)
            if entry is not None and (predicate is None or predicate(number, entry)):
                found.append(_entry_info(number, entry))
        return {**head, "OptedOutNumbers": found}
    scope = f"DescribeOptedOutNumbers/{opt_out_list.arn}"
    flags = _wanted_flags(params.get("Filters"))
    if flags is None:
        page, token = page_sorted(opt_out_list.entries, params, scope)
    else:
        page, token = _page_by_flag(opt_out_list, flags, params, scope)
    out: dict[str, Any] = {**head, "OptedOutNumbers": [_entry_info(n, e) for n, e in page]}
    if token:
        out["NextToken"] = token
    return out


def _wanted_flags(filters: list[dict[str, Any]] | None) -> frozenset[bool] | None:
    """The ``EndUserOptedOut`` values the (already validated) filters accept; ``None``: all."""
    wanted = frozenset((True, False))
    for item in filters or []:
        wanted &= frozenset(value == "true" for value in item.get("Values") or [])
    return None if len(wanted) == 2 else wanted


def _page_by_flag(
    opt_out_list: OptOutList, flags: frozenset[bool], params: dict[str, Any], scope: str
) -> tuple[list[tuple[str, OptOutEntry]], str | None]:
    """A page of the entries with ``EndUserOptedOut`` in ``flags`` from the list's index.

    The filter does not scan the list: a page of the few end-user opt-outs of a million-number
    list costs what a page of a small list does.
    """
    if not flags:
        page_size(params)  # still validated, as for any request
        return [], None
    (flag,) = flags
    entries = as_opt_out_entries(opt_out_list.entries)
    page, token = page_index(entries.by_flag(flag), entries.__getitem__, params, scope)
    if any(entry.end_user_opted_out != flag for _, entry in page):
        # An entry was changed in place behind the index: rebuild it once and answer from that.
        entries.reindex()
        page, token = page_index(entries.by_flag(flag), entries.__getitem__, params, scope)
    return page, token


def opt_out_list_of(owner: RegionState, identity: Any, now: float) -> OptOutList | None:
    """The list that governs sends from an identity: its pool's list, else its own, else Default.

    Sender IDs carry no opt-out list in the API, so they use the owner's Default list unless pooled;
    so does a send without an identity (a shared route).
    """
    name = DEFAULT_OPT_OUT_LIST
    if isinstance(identity, Pool):
        name = identity.opt_out_list_name
    elif isinstance(identity, PhoneNumber):
        pool = owner.pools.get(identity.pool_id) if identity.pool_id else None
        name = pool.opt_out_list_name if pool is not None else identity.opt_out_list_name
    elif identity is not None:
        pool = next((p for p in owner.pools.values() if identity.arn in p.members), None)
        if pool is not None:
            name = pool.opt_out_list_name
    if name == DEFAULT_OPT_OUT_LIST:
        return ensure_default_opt_out_list(owner, now)
    return owner.opt_out_lists.get(name)


def self_managed(owner: RegionState, identity: Any) -> bool:
    if isinstance(identity, PhoneNumber) and identity.pool_id and identity.pool_id in owner.pools:
        return owner.pools[identity.pool_id].self_managed_opt_outs_enabled
    return bool(getattr(identity, "self_managed_opt_outs_enabled", False))


def simulate_inbound_stop(
    world: World,
    account: str,
    region: str,
    origination_identity: str,
    from_number: str,
    keyword: str = "STOP",
) -> dict[str, Any] | None:
    """Sandbox only: the recipient ``from_number`` texts ``keyword`` to an origination identity.

    ``origination_identity`` is a phone number id, ARN or E.164 number of ``account`` (the owner).
    With the identity's self-managed opt-outs off and an opt-out keyword, the number is added to
    the opt-out list that governs the identity, as an end-user opt-out (``EndUserOptedOut``), and
    the new entry is returned in DescribeOptedOutNumbers' shape. Otherwise nothing changes and
    ``None`` is returned: with self-managed opt-outs the sender must record the request itself.
    """
    with world.lock:
        state = world.region(account, region)
        destination_country(from_number, "from_number")
        owner, identity = find_origination_identity(world, state, origination_identity, allow_pool=False)
        if not isinstance(identity, PhoneNumber):
            raise validation_error(
                "Only phone numbers receive messages; sender IDs are one-way.",
                "TWO_WAY_NOT_ENABLED",
                [{"Name": "OriginationIdentity", "Message": "Not a phone number."}],
            )
        if keyword.strip().upper() not in STOP_KEYWORDS or self_managed(owner, identity):
            return None
        now = world.clock.now()
        opt_out_list = opt_out_list_of(owner, identity, now)
        if opt_out_list is None:
            return None
        entry = OptOutEntry(opted_out_timestamp=now, end_user_opted_out=True)
        opt_out_list.entries[from_number] = entry
        return {"OptOutListName": opt_out_list.name, **_entry_info(from_number, entry)}
