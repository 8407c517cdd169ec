"""Synthetic sandbox accounts: a large one for benchmarks and a small example for the demo.

Records are built directly in :class:`RegionState` (not through the API) so that a
million-number opt-out list takes seconds: numbers are drawn without replacement from the NANP
range, sorted once, and loaded into the ``SortedDict`` in one step. Everything derives from
``seed``: the same arguments produce the same world, ids and numbers included (only the clock's
start time differs between wall-clock worlds).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sortedcontainers import SortedDict

from reconciler.sandbox import ids
from reconciler.sandbox.sharing import DEFAULT_PERMISSIONS, INVITATION_LIFETIME, POOL
from reconciler.sandbox.sharing import PHONE_NUMBER as RAM_PHONE_NUMBER
from reconciler.sandbox.state import (
    ConfigurationSet,
    OptOutEntry,
    OptOutList,
    PhoneNumber,
    Pool,
    ProtectConfiguration,
    RegionState,
    ResourceShare,
    SenderId,
    ShareAssociation,
    ShareInvitation,
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
            sorted({DEFAULT_PERMISSIONS[RAM_PHONE_NUMBER], DEFAULT_PERMISSIONS[POOL]}),
        )
        consumer = consumer_accounts[index % len(consumer_accounts)]
        share.associations.append(
            ShareAssociation("PRINCIPAL", consumer, "ASSOCIATED", share.created, share.created, True)
        )
        # The consumer is outside the organization: it accepted RAM's invitation long ago.
        share.invitations.append(ShareInvitation(
            f"arn:aws:ram:{region}:{account}:resource-share-invitation/{ids.new_message_id(rng)}",
            consumer, "ACCEPTED", share.created, share.created + INVITATION_LIFETIME,
        ))
        for arn in shareable[index * share_size : (index + 1) * share_size]:
            share.associations.append(
                ShareAssociation("RESOURCE", arn, "ASSOCIATED", share.created, share.created)
            )
        state.resource_shares[share_arn] = share
    return state


@dataclass
class ExampleSpec:
    """What the example account holds: the resources an example policy refers to."""

    account: str = EXAMPLE_ACCOUNT
    region: str = "us-east-1"
    phone_numbers: list[str] = field(default_factory=lambda: ["+18885550100"])
    sender_ids: list[tuple[str, str]] = field(default_factory=lambda: [("DEMOTP", "GB")])
    configuration_sets: list[str] = field(default_factory=lambda: ["transactional"])
    opt_out_lists: dict[str, list[str]] = field(
        default_factory=lambda: {"marketing": ["+12065550142", "+12065550199"]}
    )
    protect_configurations: list[str] = field(default_factory=lambda: ["baseline"])
    consumers: list[str] = field(default_factory=lambda: [EXAMPLE_CONSUMER])
    organization: dict[str, str] = field(default_factory=dict)


_TOLL_FREE_PREFIXES = ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888")


def _yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def spec_from_policy(config_dir: str | Path) -> ExampleSpec:
    """The resources a policy directory (``config/``) refers to, for an account that already has them.

    Reads only what it needs (targets, organization, identities, opt-out lists, protect
    configuration names, share principals); the policy loader validates the rest.
    """
    root = Path(config_dir)
    merged: dict[str, Any] = {}
    for path in sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml")):
        merged.update(_yaml(path))
    spec = ExampleSpec(
        phone_numbers=[],
        sender_ids=[],
        configuration_sets=[],
        opt_out_lists={},
        protect_configurations=[],
        consumers=[],
    )
    targets = merged.get("targets") or []
    if targets:
        spec.account = str(targets[0].get("account_id", spec.account))
        spec.region = str(targets[0].get("region", spec.region))
    spec.phone_numbers = [
        str(item["phone_number"]) for item in merged.get("phone_numbers") or [] if "phone_number" in item
    ]
    spec.sender_ids = [
        (str(item["sender_id"]), str(item["country"]))
        for item in merged.get("sender_ids") or []
        if "sender_id" in item
    ]
    spec.configuration_sets = [
        str(item["name"]) for item in merged.get("configuration_sets") or [] if "name" in item
    ]
    for item in merged.get("opt_out_lists") or []:
        numbers: list[str] = [str(n) for n in item.get("numbers") or []]
        if item.get("numbers_file"):
            lines = (root / str(item["numbers_file"])).read_text(encoding="utf-8").splitlines()
            numbers += [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
        # The live list starts with every other number of the policy's: plans have something to add.
        spec.opt_out_lists[str(item["name"])] = numbers[::2]
    spec.protect_configurations = [
        str(item["name"]) for item in merged.get("protect_configurations") or [] if "name" in item
    ]
    principals = {str(p) for share in merged.get("shares") or [] for p in share.get("principals") or []}
    spec.consumers = sorted(p for p in principals if len(p) == 12 and p.isdigit() and p != spec.account)
    organization = merged.get("organization") or {}
    org_arn = str(organization.get("arn", ""))
    if "/o-" in org_arn:
        org_id = org_arn.rsplit("/", 1)[1]
        management = org_arn.split(":")[4]
        members = {management, spec.account, *(str(a) for a in organization.get("accounts") or [])}
        spec.organization = {account: org_id for account in sorted(members) if account}
    return spec


def generate_example(
    world: World,
    account: str | None = None,
    region: str | None = None,
    seed: int = 7,
    config_dir: str | Path | None = None,
) -> RegionState:
    """The small account the README demo plans against.

    From a policy directory (``config_dir``): the numbers, sender IDs, configuration sets,
    opt-out lists (holding every other number of the policy's, plus one end-user opt-out) and
    protect configurations (named by their ``Name`` tag, allowing everything) the policy refers
    to, its organization, and empty consumer accounts for its share principals — the live state
    before the policy's first apply. Without one: a US toll-free number, a GB sender ID ``DEMOTP``,
    a ``transactional`` configuration set, a ``baseline`` protect configuration, a ``marketing``
    opt-out list and an empty consumer account ``444455556666``. Both add a US 10DLC number in a
    pool (numbers the policy does not manage).
    """
    spec = spec_from_policy(config_dir) if config_dir is not None else ExampleSpec()
    account = account or spec.account
    region = region or spec.region
    rng = random.Random(seed)
    now = world.clock.now()
    state = world.region(account, region)
    created = now - 30 * DAY
    for name in ["Default", *spec.opt_out_lists]:
        state.opt_out_lists[name] = OptOutList(
            name, ids.arn(region, account, ids.OPT_OUT_LIST, name), created
        )
    for name, listed in spec.opt_out_lists.items():
        entries = state.opt_out_lists[name].entries
        for index, e164 in enumerate(listed):
            entries[e164] = OptOutEntry(now - (index + 2) * DAY, False)
        entries["+12065550198"] = OptOutEntry(now - DAY, True)  # a recipient who replied STOP

    def number(kind: str, e164: str) -> PhoneNumber:
        number_id = ids.new_id(ids.PHONE_NUMBER, rng)
        country = "US" if e164.startswith("+1") else "GB"
        record = PhoneNumber(
            number_id,
            ids.arn(region, account, ids.PHONE_NUMBER, number_id),
            e164,
            country,
            "TRANSACTIONAL",
            ["SMS", "VOICE"] if kind != "TEN_DLC" else ["SMS"],
            kind,
            "2.00",
            created,
        )
        state.phone_numbers[number_id] = record
        return record

    for e164 in spec.phone_numbers:
        number("TOLL_FREE" if e164.startswith(_TOLL_FREE_PREFIXES) else "LONG_CODE", e164)
    # The pool holds a number the policy does not manage: numbers in a pool refuse UpdatePhoneNumber.
    ten_dlc = number("TEN_DLC", "+12065550123")
    for sender_id, country in spec.sender_ids:
        state.sender_ids[ids.sender_id_key(sender_id, country)] = SenderId(
            sender_id, country, ids.sender_id_arn(region, account, sender_id, country), ["TRANSACTIONAL"]
        )
    pool_id = ids.new_id(ids.POOL, rng)
    pool = Pool(
        pool_id, ids.arn(region, account, ids.POOL, pool_id), "TRANSACTIONAL", created, members=[ten_dlc.arn]
    )
    ten_dlc.pool_id = pool_id
    state.pools[pool_id] = pool
    state.tags[pool.arn] = {"Name": "marketing-pool"}
    for name in spec.configuration_sets:
        state.configuration_sets[name] = ConfigurationSet(
            name, ids.arn(region, account, ids.CONFIGURATION_SET, name), created
        )
    for name in spec.protect_configurations:
        protect_id = ids.new_id(ids.PROTECT_CONFIGURATION, rng)
        protect = ProtectConfiguration(
            protect_id, ids.arn(region, account, ids.PROTECT_CONFIGURATION, protect_id), created
        )
        state.protect_configurations[protect_id] = protect
        state.tags[protect.arn] = {"Name": name}
    for consumer in spec.consumers:
        world.region(consumer, region)
    world.organization.update(spec.organization)
    return state


def generate(kind: str, world: World, **options: Any) -> RegionState:
    """``large`` or ``example`` (the ``reconciler sandbox snapshot --generate`` kinds)."""
    if kind == "large":
        return generate_large(world, **options)
    if kind == "example":
        return generate_example(world, **options)
    raise ValueError(f"unknown generator {kind!r}: use 'large' or 'example'")
