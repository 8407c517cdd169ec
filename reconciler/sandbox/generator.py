"""Synthetic sandbox accounts: a large one for benchmarks and a small example for the demo.

Records are built directly in :class:`RegionState` (not through the API) so that a
million-number opt-out list takes seconds: numbers are drawn without replacement from the NANP
range, sorted once, and loaded into the ``SortedDict`` in one step. Everything derives from
``seed``: the same arguments produce the same world, ids and numbers included (only the clock's
start time differs between wall-clock worlds).
"""

from __future__ import annotations

import random
from typing import Any

from sortedcontainers import SortedDict

from reconciler.sandbox import ids
from reconciler.sandbox.handlers.ram import SMS_VOICE_PERMISSION_ARN
from reconciler.sandbox.state import (
    ConfigurationSet,
    NumberOverride,
    OptOutEntry,
    OptOutList,
    PhoneNumber,
    Pool,
    ProtectConfiguration,
    RegionState,
    ResourceShare,
    SenderId,
    ShareAssociation,
    World,
)

EXAMPLE_ACCOUNT = "111122223333"
EXAMPLE_CONSUMER = "444455556666"
DAY = 86400.0
CAPABILITIES = ("SMS", "VOICE", "MMS", "RCS")


def _opt_out_entries(rng: random.Random, count: int, now: float, end_user_share: float = 0.3) -> SortedDict:
    """``count`` distinct US numbers opted out over the last two years, ~30% by the end user."""
    picks = rng.sample(range(2_002_000_000, 9_899_999_999), count)
    picks.sort()
    # Day-granular timestamps are shared float objects: a million entries, a few hundred floats.
    days = [now - DAY * day for day in range(730)]
    randrange, rand = rng.randrange, rng.random
    entries = [OptOutEntry(days[randrange(730)], rand() < end_user_share) for _ in range(count)]
    return SortedDict(zip([f"+1{number}" for number in picks], entries, strict=True))


def _phone(state: RegionState, rng: random.Random, now: float, index: int, opt_out_list: str) -> PhoneNumber:
    kind = ("TOLL_FREE", "TEN_DLC", "LONG_CODE")[index % 3]
    prefix = {"TOLL_FREE": "+1833", "TEN_DLC": "+1206", "LONG_CODE": "+1415"}[kind]
    number_id = ids.new_id(ids.PHONE_NUMBER, rng)
    return PhoneNumber(
        phone_number_id=number_id,
        arn=ids.arn(state.region, state.account, ids.PHONE_NUMBER, number_id),
        phone_number=f"{prefix}{5550000 + index:07d}"[:12],
        iso_country_code="US",
        message_type="TRANSACTIONAL" if index % 4 else "PROMOTIONAL",
        number_capabilities=["SMS", "VOICE"] if kind != "TOLL_FREE" else ["SMS"],
        number_type=kind,
        monthly_leasing_price="2.00" if kind != "LONG_CODE" else "1.00",
        created=now - DAY * rng.randrange(1, 700),
        opt_out_list_name=opt_out_list,
        international_sending_enabled=kind == "TOLL_FREE" and index % 6 == 0,
    )


def _protect(state: RegionState, rng: random.Random, now: float, index: int) -> ProtectConfiguration:
    config_id = ids.new_id(ids.PROTECT_CONFIGURATION, rng)
    config = ProtectConfiguration(
        protect_configuration_id=config_id,
        arn=ids.arn(state.region, state.account, ids.PROTECT_CONFIGURATION, config_id),
        created=now - DAY * rng.randrange(1, 365),
        deletion_protection_enabled=index % 5 == 0,
    )
    blocked = rng.sample(["AU", "BR", "CN", "IN", "NG", "PK", "RU", "VN", "ID", "PH"], 3)
    config.rules = {"SMS": {country: "BLOCK" for country in sorted(blocked)}, "VOICE": {"RU": "BLOCK"}}
    state.tags[config.arn] = {"Name": f"protect-{index:02d}"}
    return config


def generate_large(
    world: World,
    account: str = "210987654321",
    region: str = "us-east-1",
    opt_out_numbers: int = 1_000_000,
    small_lists: int = 24,
    small_list_size: int = 10_000,
    phone_numbers: int = 2000,
    protect_configurations: int = 25,
    shares: int = 10,
    share_size: int = 50,
    seed: int = 0,
    consumer_accounts: tuple[str, ...] = ("333344445555", "666677778888"),
) -> RegionState:
    """An account at AWS's default quotas: one huge opt-out list plus ``small_lists`` others
    (``Default`` among them, 25 lists in all by default), thousands of numbers, protect
    configurations, pools and RAM shares."""
    if small_lists + 1 > 25:
        raise ValueError("an account holds at most 25 opt-out lists (Default included)")
    rng = random.Random(seed)
    now = world.clock.now()
    state = world.region(account, region)
    names = ["Default"] + [f"list-{index:02d}" for index in range(1, small_lists)]
    for name in names:
        opt_out = OptOutList(name, ids.arn(region, account, ids.OPT_OUT_LIST, name), now - 400 * DAY)
        opt_out.entries = _opt_out_entries(rng, small_list_size, now)
        state.opt_out_lists[name] = opt_out
    large = OptOutList(
        "large-list", ids.arn(region, account, ids.OPT_OUT_LIST, "large-list"), now - 700 * DAY
    )
    large.entries = _opt_out_entries(rng, opt_out_numbers, now)
    state.opt_out_lists[large.name] = large

    numbers = []
    for index in range(phone_numbers):
        number = _phone(state, rng, now, index, names[index % len(names)] if index % 2 else "large-list")
        state.phone_numbers[number.phone_number_id] = number
        numbers.append(number)
    pools = []
    for index in range(max(1, phone_numbers // 100)):
        pool_id = ids.new_id(ids.POOL, rng)
        members = [n for n in numbers[index * 5 : index * 5 + 5] if n.pool_id is None]
        pool = Pool(pool_id, ids.arn(region, account, ids.POOL, pool_id), "TRANSACTIONAL", now - 300 * DAY)
        pool.opt_out_list_name = members[0].opt_out_list_name if members else "Default"
        for member in members:
            member.pool_id = pool_id
            member.opt_out_list_name = pool.opt_out_list_name
            pool.members.append(member.arn)
        state.pools[pool_id] = pool
        pools.append(pool)
    for index in range(protect_configurations):
        config = _protect(state, rng, now, index)
        state.protect_configurations[config.protect_configuration_id] = config
    if protect_configurations:
        state.account_default_protect_configuration_id = next(iter(state.protect_configurations))
    shareable = [n.arn for n in numbers] + [p.arn for p in pools]
    for index in range(shares):
        share_arn = f"arn:aws:ram:{region}:{account}:resource-share/{ids.new_message_id(rng)}"
        share = ResourceShare(
            share_arn,
            f"share-{index:02d}",
            account,
            True,
            now - 90 * DAY,
            now - 90 * DAY,
            "ACTIVE",
            [SMS_VOICE_PERMISSION_ARN],
        )
        consumer = consumer_accounts[index % len(consumer_accounts)]
        share.associations.append(
            ShareAssociation("PRINCIPAL", consumer, "ASSOCIATED", share.created, share.created, True)
        )
        for arn in shareable[index * share_size : (index + 1) * share_size]:
            share.associations.append(
                ShareAssociation("RESOURCE", arn, "ASSOCIATED", share.created, share.created)
            )
        state.resource_shares[share_arn] = share
    return state


def generate_example(
    world: World,
    account: str = EXAMPLE_ACCOUNT,
    region: str = "us-east-1",
    consumer: str = EXAMPLE_CONSUMER,
    seed: int = 7,
) -> RegionState:
    """The small account the README demo plans against.

    A US toll-free number (international sending off), a US 10DLC number, a GB sender ID
    ``DEMOTP``, a pool holding the toll-free number, a ``transactional`` configuration set, a
    ``baseline`` protect configuration (blocks AU for SMS), a ``marketing`` opt-out list with one
    end-user opt-out, and a consumer account ``consumer`` (empty) to share with.
    """
    rng = random.Random(seed)
    now = world.clock.now()
    state = world.region(account, region)
    created = now - 30 * DAY
    for name in ("Default", "marketing"):
        state.opt_out_lists[name] = OptOutList(
            name, ids.arn(region, account, ids.OPT_OUT_LIST, name), created
        )
    marketing = state.opt_out_lists["marketing"]
    marketing.entries["+12065550142"] = OptOutEntry(now - 3 * DAY, True)
    marketing.entries["+12065550199"] = OptOutEntry(now - 2 * DAY, False)

    def number(kind: str, e164: str, capabilities: list[str]) -> PhoneNumber:
        number_id = ids.new_id(ids.PHONE_NUMBER, rng)
        record = PhoneNumber(
            number_id,
            ids.arn(region, account, ids.PHONE_NUMBER, number_id),
            e164,
            "US",
            "TRANSACTIONAL",
            capabilities,
            kind,
            "2.00",
            created,
        )
        state.phone_numbers[number_id] = record
        return record

    toll_free = number("TOLL_FREE", "+18885550100", ["SMS", "VOICE"])
    number("TEN_DLC", "+12065550123", ["SMS"])
    sender = SenderId("DEMOTP", "GB", ids.sender_id_arn(region, account, "DEMOTP", "GB"), ["TRANSACTIONAL"])
    state.sender_ids[ids.sender_id_key("DEMOTP", "GB")] = sender
    pool_id = ids.new_id(ids.POOL, rng)
    pool = Pool(
        pool_id,
        ids.arn(region, account, ids.POOL, pool_id),
        "TRANSACTIONAL",
        created,
        members=[toll_free.arn],
    )
    toll_free.pool_id = pool_id
    state.pools[pool_id] = pool
    state.tags[pool.arn] = {"Name": "transactional-pool"}
    config_set = ConfigurationSet(
        "transactional", ids.arn(region, account, ids.CONFIGURATION_SET, "transactional"), created
    )
    state.configuration_sets[config_set.name] = config_set
    protect_id = ids.new_id(ids.PROTECT_CONFIGURATION, rng)
    protect = ProtectConfiguration(
        protect_id, ids.arn(region, account, ids.PROTECT_CONFIGURATION, protect_id), created
    )
    protect.rules = {"SMS": {"AU": "BLOCK"}}
    protect.number_overrides["+61491570006"] = NumberOverride("+61491570006", "ALLOW", created)
    state.protect_configurations[protect_id] = protect
    state.tags[protect.arn] = {"Name": "baseline"}
    world.region(consumer, region)
    return state


def generate(kind: str, world: World, **options: Any) -> RegionState:
    """``large`` or ``example`` (the ``reconciler sandbox snapshot --generate`` kinds)."""
    if kind == "large":
        return generate_large(world, **options)
    if kind == "example":
        return generate_example(world, **options)
    raise ValueError(f"unknown generator {kind!r}: use 'large' or 'example'")
