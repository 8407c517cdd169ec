"""Origination identities: phone numbers, pools and sender IDs.

Managed attributes (only where the policy sets them; ``None`` leaves the live value alone):

* phone numbers: ``InternationalSendingEnabled`` (US toll-free numbers only), the opt-out list,
  deletion protection — ``UpdatePhoneNumber``;
* pools: the opt-out list and deletion protection — ``UpdatePool``;
* sender IDs: deletion protection — ``UpdateSenderId``.

Configuration-set associations live in the protect area (one obvious place).

Pooled numbers: AWS refuses ``UpdatePhoneNumber`` on a number that is in a pool. Such a change
becomes one "pool juggling" step — leave the pool, update, rejoin — that runs only with
``--allow-pool-juggling`` and never for the last number of a pool. Before leaving, the *pool*
is tagged ``reconciler:rejoin:<phone number id>=<phone number ARN>``; the tag is removed after
rejoining. A run that crashes in between leaves the tag, and the next plan shows the rejoin step,
so it converges. The marker lives on the pool rather than on the number because pools are few:
finding interrupted juggles costs one tag read per pool, not one per managed number (quotas are
1 request/s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from reconciler.areas.base import ApiOperation, Area, changed_attributes, register, sms
from reconciler.areas.phone_numbers.policy import SECTION
from reconciler.areas.phone_numbers.spec import PhoneNumberSpec, PoolSpec, SenderIdSpec
from reconciler.aws import SMS_VOICE, Api, error_code, error_reason
from reconciler.cli import UserError
from reconciler.config.model import Desired
from reconciler.plan import (
    FLAG_BLOCKED,
    FLAG_DELETION_PROTECTION_OFF,
    FLAG_NEEDS_FORCE,
    FLAG_POOL_JUGGLING,
    ORDER_ASSOCIATE,
    ORDER_UPDATE,
    Change,
)
from reconciler.report.area_report import AreaReport

if TYPE_CHECKING:
    from reconciler.config.edit import DriftAcceptor, PolicyEdit

REJOIN_PREFIX = "reconciler:rejoin:"  # + phone number id: a pool tag marking a number to put back
PAGE = 100

# Policy attribute -> UpdatePhoneNumber / UpdatePool parameter.
PARAMETERS = {
    "international_sending": "InternationalSendingEnabled",
    "opt_out_list": "OptOutListName",
    "deletion_protection": "DeletionProtectionEnabled",
}


@dataclass
class LiveNumber:
    id: str
    arn: str
    number: str
    country: str
    number_type: str
    pool_id: str | None
    attributes: dict[str, Any]  # international_sending, opt_out_list, deletion_protection
    rejoin_pool: str | None = None  # the pool whose REJOIN_PREFIX tag names this number (managed numbers)


@dataclass
class LivePool:
    id: str
    arn: str
    name: str | None
    attributes: dict[str, Any]  # opt_out_list, deletion_protection
    members: int | None = None  # origination identities, read only when a member may be juggled


@dataclass
class LiveSenderId:
    sender_id: str
    country: str
    arn: str
    attributes: dict[str, Any]  # deletion_protection


@dataclass
class NumbersLive:
    numbers: list[LiveNumber] = field(default_factory=list)
    pools: list[LivePool] = field(default_factory=list)
    sender_ids: list[LiveSenderId] = field(default_factory=list)
    pool_lists_after: dict[str, str | None] = field(default_factory=dict)  # set by diff: pool id -> list


def list_name(value: str | None) -> str | None:
    """Opt-out lists are compared by name: an ARN (``…:opt-out-list/NAME``) becomes NAME."""
    if value and value.startswith("arn:"):
        return value.rsplit("/", 1)[-1]
    return value


def wanted(spec: PhoneNumberSpec | PoolSpec | SenderIdSpec) -> dict[str, Any]:
    if isinstance(spec, PhoneNumberSpec):
        return {
            "international_sending": spec.international_sending,
            "opt_out_list": spec.opt_out_list,
            "deletion_protection": spec.deletion_protection,
        }
    if isinstance(spec, PoolSpec):
        return {"opt_out_list": spec.opt_out_list, "deletion_protection": spec.deletion_protection}
    return {"deletion_protection": spec.deletion_protection}


def _pool_arn(live: NumbersLive, number: LiveNumber, pool_id: str) -> str:
    """The pool's ARN from the listing, else built from the number's (same account and region)."""
    pool = next((p for p in live.pools if p.id == pool_id), None)
    if pool is not None:
        return pool.arn
    prefix = number.arn.split(":phone-number/", 1)[0]
    return f"{prefix}:pool/{pool_id}"


def own_sender_ids(api: Api) -> list[dict[str, Any]]:
    """Every sender ID of the account, listed once per run (the shares area resolves its
    references from the same listing): one call per 100, where looking the policy's up by id
    costs one per 5 and a retry per missing one."""
    return [item for page in api.listing(SMS_VOICE, "DescribeSenderIds", Owner="SELF", MaxResults=PAGE)
            for item in page.get("SenderIds", [])]


@register
class PhoneNumbersArea(Area):
    section = SECTION
    resource_types = frozenset({"phone-number", "pool", "pool-membership", "sender-id"})
    report = AreaReport(title="Phone numbers", order=20)
    name = "phone_numbers"
    read_order = 30
    operations: ClassVar[tuple[ApiOperation, ...]] = (
        sms("DescribePhoneNumbers"),
        sms("DescribePools"),
        sms("DescribeSenderIds"),
        sms("ListTagsForResource"),
        sms("ListPoolOriginationIdentities"),
        sms("UpdatePhoneNumber", mode="write"),
        sms("UpdatePool", mode="write"),
        sms("UpdateSenderId", mode="write"),
        sms("DisassociateOriginationIdentity", mode="write"),
        sms("AssociateOriginationIdentity", mode="write"),
        sms("TagResource", mode="write"),
        sms("UntagResource", mode="write"),
    )

    def manages(self, desired: Desired) -> bool:
        return bool(desired.phone_numbers or desired.pools or desired.sender_ids)

    @classmethod
    def drift_acceptor(cls, edit: PolicyEdit) -> DriftAcceptor:
        from reconciler.areas.phone_numbers.accept import PhoneNumbersAcceptor  # ruamel: only when accepting

        return PhoneNumbersAcceptor(edit)

    # Reading --------------------------------------------------------------------------------------

    def read(self, api: Api, desired: Desired) -> NumbersLive:
        live = NumbersLive()
        if desired.phone_numbers:
            for page in api.listing(SMS_VOICE, "DescribePhoneNumbers", MaxResults=PAGE):
                for item in page.get("PhoneNumbers", []):
                    if item.get("Status") == "DELETED":
                        continue
                    live.numbers.append(
                        LiveNumber(
                            id=item.get("PhoneNumberId") or item["PhoneNumberArn"],
                            arn=item["PhoneNumberArn"],
                            number=item["PhoneNumber"],
                            country=item["IsoCountryCode"],
                            number_type=item["NumberType"],
                            pool_id=item.get("PoolId") or None,
                            attributes={
                                "international_sending": bool(item.get("InternationalSendingEnabled")),
                                "opt_out_list": list_name(item.get("OptOutListName")),
                                "deletion_protection": bool(item.get("DeletionProtectionEnabled")),
                            },
                        )
                    )
            live.numbers.sort(key=lambda n: n.id)
        managed = [(spec, self._number(live, spec.ref)) for spec in desired.phone_numbers]
        pooled = {n.pool_id for _, n in managed if n is not None and n.pool_id}
        # Only a pooled number whose attributes change is juggled; only then is its pool's size needed.
        juggled = {
            n.pool_id
            for spec, n in managed
            if n is not None and n.pool_id and changed_attributes(n.attributes, wanted(spec))
        }
        outside = {n.id: n for _, n in managed if n is not None and n.pool_id is None}
        if desired.pools or pooled or outside:
            for page in api.listing(SMS_VOICE, "DescribePools", MaxResults=PAGE):
                for item in page.get("Pools", []):
                    live.pools.append(
                        LivePool(
                            id=item["PoolId"],
                            arn=item["PoolArn"],
                            name=None,
                            attributes={
                                "opt_out_list": list_name(item.get("OptOutListName")),
                                "deletion_protection": bool(item.get("DeletionProtectionEnabled")),
                            },
                        )
                    )
            live.pools.sort(key=lambda p: p.id)
            # Pool tags hold the names the policy may use and the markers of interrupted juggles,
            # which only managed numbers outside a pool can carry.
            if outside or any(not spec.ref.startswith("pool-") for spec in desired.pools):
                for pool in live.pools:
                    tags = api.call(SMS_VOICE, "ListTagsForResource", ResourceArn=pool.arn).get("Tags", [])
                    pool.name = next((t["Value"] for t in tags if t["Key"] == "Name"), None)
                    for tag in tags:
                        left = outside.get(tag["Key"].removeprefix(REJOIN_PREFIX))
                        if tag["Key"].startswith(REJOIN_PREFIX) and left is not None:
                            left.rejoin_pool = pool.id
            for pool in live.pools:
                if pool.id in juggled:
                    pool.members = sum(
                        len(page.get("OriginationIdentities", []))
                        for page in api.pages(SMS_VOICE, "ListPoolOriginationIdentities", PoolId=pool.id, MaxResults=PAGE)
                    )
        if desired.sender_ids:
            wanted_ids = {(s.sender_id, s.country) for s in desired.sender_ids}
            for item in own_sender_ids(api):
                if (item["SenderId"], item["IsoCountryCode"]) in wanted_ids:
                    live.sender_ids.append(
                        LiveSenderId(
                            sender_id=item["SenderId"],
                            country=item["IsoCountryCode"],
                            arn=item["SenderIdArn"],
                            attributes={"deletion_protection": bool(item.get("DeletionProtectionEnabled"))},
                        )
                    )
            live.sender_ids.sort(key=lambda s: (s.sender_id, s.country))
        return live

    def _managed_numbers(self, desired: Desired, live: NumbersLive) -> list[LiveNumber]:
        found = (self._number(live, spec.ref) for spec in desired.phone_numbers)
        return [n for n in found if n is not None]

    @staticmethod
    def _number(live: NumbersLive, ref: str) -> LiveNumber | None:
        for number in live.numbers:
            if ref in (number.id, number.number, number.arn):
                return number
        return None

    @staticmethod
    def _pool(live: NumbersLive, ref: str) -> LivePool | None:
        for pool in live.pools:
            if ref in (pool.id, pool.arn) or (pool.name is not None and pool.name == ref):
                return pool
        return None

    # Diffing --------------------------------------------------------------------------------------

    def diff(self, desired: Desired, live: NumbersLive) -> list[Change]:
        changes: list[Change] = []
        # The opt-out list each pool will have after this plan (pooled numbers must match it).
        live.pool_lists_after = {p.id: p.attributes.get("opt_out_list") for p in live.pools}
        for pool_spec in desired.pools:
            pool = self._pool(live, pool_spec.ref)
            if pool is not None and pool_spec.opt_out_list is not None:
                live.pool_lists_after[pool.id] = list_name(pool_spec.opt_out_list)
        for number_spec in sorted(desired.phone_numbers, key=lambda s: s.ref):
            changes.extend(self._diff_number(live, number_spec))
        for pool_spec in sorted(desired.pools, key=lambda s: s.ref):
            changes.extend(self._diff_pool(live, pool_spec))
        for sender_spec in sorted(desired.sender_ids, key=lambda s: s.ref):
            changes.extend(self._diff_sender_id(live, sender_spec))
        return changes

    def _missing(self, kind: str, key: str, ref: str, what: str) -> Change:
        return Change(
            area=self.name,
            action="update",
            resource_type=kind,
            key=key,
            order=ORDER_UPDATE,
            flags=frozenset({FLAG_BLOCKED}),
            data={"ref": ref, "reason": f"{what} {ref} is not in this account and region (the reconciler does not "
                                        "acquire origination identities); request it or remove it from the policy"},
            summary=f"update {what} {ref}",
        )

    def _update(
        self, kind: str, key: str, data: dict[str, Any], changed: dict[str, tuple[Any, Any]], label: str
    ) -> Change:
        flags: set[str] = set()
        if changed.get("deletion_protection", (None, True))[1] is False:
            flags |= {FLAG_NEEDS_FORCE, FLAG_DELETION_PROTECTION_OFF}
        return Change(
            area=self.name,
            action="update",
            resource_type=kind,
            key=key,
            before={attr: old for attr, (old, _) in changed.items()},
            after={attr: new for attr, (_, new) in changed.items()},
            order=ORDER_UPDATE,
            flags=frozenset(flags),
            data={**data, "updates": {attr: new for attr, (_, new) in changed.items()}},
            # What changes is in before/after: reports show it once, each in its own format.
            summary=f"update {label}",
        )

    def _diff_number(self, live: NumbersLive, spec: PhoneNumberSpec) -> list[Change]:
        key = f"phone_numbers/number/{spec.ref}"
        number = self._number(live, spec.ref)
        if number is None:
            return [self._missing("phone-number", key, spec.ref, "phone number")]
        want = wanted(spec)
        if want["international_sending"] and not (number.number_type == "TOLL_FREE" and number.country == "US"):
            return [
                Change(
                    area=self.name,
                    action="update",
                    resource_type="phone-number",
                    key=key,
                    before={"international_sending": number.attributes["international_sending"]},
                    after={"international_sending": True},
                    order=ORDER_UPDATE,
                    flags=frozenset({FLAG_BLOCKED}),
                    data={"id": number.id, "reason": (
                        f"international sending applies only to US toll-free numbers; {spec.ref} is a "
                        f"{number.number_type} number in {number.country} (AWS: INTERNATIONAL_SENDING_NOT_SUPPORTED)")},
                    summary=f"enable international sending on {spec.ref}",
                )
            ]
        changes: list[Change] = []
        changed = changed_attributes(number.attributes, want)
        if number.rejoin_pool:
            changes.append(
                Change(
                    area=self.name,
                    action="associate",
                    resource_type="pool-membership",
                    key=f"{key}/rejoin-pool",
                    before=None,
                    after=number.rejoin_pool,
                    order=ORDER_ASSOCIATE,
                    data={"id": number.id, "arn": number.arn, "country": number.country, "pool_id": number.rejoin_pool,
                          "pool_arn": _pool_arn(live, number, number.rejoin_pool)},
                    summary=f"put {spec.ref} back into pool {number.rejoin_pool} (an interrupted run took it out)",
                )
            )
        if not changed:
            return changes
        data = {"id": number.id, "arn": number.arn, "country": number.country}
        update = self._update("phone-number", key, data, changed, spec.ref)
        if number.pool_id is None:
            return [*changes, update]
        pool = next((p for p in live.pools if p.id == number.pool_id), None)
        members = pool.members if pool is not None else None
        steps = [f"leave pool {number.pool_id}", "update", f"rejoin pool {number.pool_id}"]
        flags = set(update.flags) | {FLAG_POOL_JUGGLING}
        juggle_data = {
            **update.data, "pool_id": number.pool_id, "pool_arn": _pool_arn(live, number, number.pool_id), "steps": steps
        }
        mismatch = _pool_list_mismatch(live, number, spec, changed)
        if mismatch:
            flags.add(FLAG_BLOCKED)
            juggle_data["reason"] = mismatch
        elif members is not None and members <= 1:
            flags.add(FLAG_BLOCKED)
            juggle_data["reason"] = (
                f"{spec.ref} is the only member of pool {number.pool_id}: AWS refuses UpdatePhoneNumber on a "
                "pooled number and the reconciler never takes the last number out of a pool; add another "
                "origination identity to the pool first"
            )
        return [
            *changes,
            Change(
                area=self.name,
                action="update",
                resource_type="phone-number",
                key=key,
                before=update.before,
                after=update.after,
                # After the pool's own update, so that a number following its pool to a new list rejoins it.
                order=ORDER_UPDATE + 1 if "opt_out_list" in changed else ORDER_UPDATE,
                flags=frozenset(flags),
                data=juggle_data,
                summary=f"{update.summary} (pooled: {'; '.join(steps)})",
            ),
        ]

    def _diff_pool(self, live: NumbersLive, spec: PoolSpec) -> list[Change]:
        key = f"phone_numbers/pool/{spec.ref}"
        pool = self._pool(live, spec.ref)
        if pool is None:
            return [self._missing("pool", key, spec.ref, "pool")]
        changed = changed_attributes(pool.attributes, wanted(spec))
        return [self._update("pool", key, {"id": pool.id}, changed, f"pool {spec.ref}")] if changed else []

    def _diff_sender_id(self, live: NumbersLive, spec: SenderIdSpec) -> list[Change]:
        key = f"phone_numbers/sender-id/{spec.ref}"
        found = next((s for s in live.sender_ids if (s.sender_id, s.country) == (spec.sender_id, spec.country)), None)
        if found is None:
            return [self._missing("sender-id", key, spec.ref, "sender ID")]
        changed = changed_attributes(found.attributes, wanted(spec))
        data = {"sender_id": spec.sender_id, "country": spec.country}
        return [self._update("sender-id", key, data, changed, f"sender ID {spec.ref}")] if changed else []

    def scope_sizes(self, desired: Desired, live: NumbersLive) -> dict[str, int]:
        return {self.name: len(live.numbers) + len(live.pools) + len(live.sender_ids)}

    # Applying -------------------------------------------------------------------------------------

    def apply(self, api: Api, change: Change) -> None:
        data = change.data
        updates = {PARAMETERS[attr]: value for attr, value in data.get("updates", {}).items()}
        if change.resource_type == "pool-membership":
            self._rejoin(api, data)
        elif change.resource_type == "phone-number" and data.get("pool_id"):
            self._juggle(api, data, updates)
        elif change.resource_type == "phone-number":
            api.call(SMS_VOICE, "UpdatePhoneNumber", PhoneNumberId=data["id"], **updates)
        elif change.resource_type == "pool":
            api.call(SMS_VOICE, "UpdatePool", PoolId=data["id"], **updates)
        elif change.resource_type == "sender-id":
            api.call(SMS_VOICE, "UpdateSenderId", SenderId=data["sender_id"], IsoCountryCode=data["country"], **updates)
        else:
            raise ValueError(f"phone_numbers cannot apply {change.action} {change.resource_type}")

    def _juggle(self, api: Api, data: dict[str, Any], updates: dict[str, Any]) -> None:
        """Leave the pool, update, rejoin; the pool's tag makes an interrupted juggle recoverable."""
        pool_id = data["pool_id"]
        api.call(
            SMS_VOICE, "TagResource", ResourceArn=data["pool_arn"],
            Tags=[{"Key": REJOIN_PREFIX + data["id"], "Value": data["arn"]}],
        )
        try:
            api.call(
                SMS_VOICE, "DisassociateOriginationIdentity", PoolId=pool_id, OriginationIdentity=data["id"],
                IsoCountryCode=data["country"],
            )
        except ClientError:
            # A retried request whose first attempt succeeded: fine if the number is out already.
            described = api.call(SMS_VOICE, "DescribePhoneNumbers", PhoneNumberIds=[data["id"]])
            if any(n.get("PoolId") for n in described.get("PhoneNumbers", [])):
                raise
        try:
            api.call(SMS_VOICE, "UpdatePhoneNumber", PhoneNumberId=data["id"], **updates)
        finally:
            self._rejoin(api, data)

    @staticmethod
    def _rejoin(api: Api, data: dict[str, Any]) -> None:
        """Put the number back into its pool; the pool's marker tag goes only once it is a member."""
        try:
            api.call(
                SMS_VOICE, "AssociateOriginationIdentity", PoolId=data["pool_id"], OriginationIdentity=data["id"],
                IsoCountryCode=data["country"],
            )
        except ClientError as error:
            reason = error_reason(error)
            # Only "already a member" (a repeated step) may be success, and only if it is true.
            if error_code(error) != "ConflictException" or reason != "RESOURCE_ALREADY_ASSOCIATED":
                raise UserError(
                    f"AWS refused to put phone number {data['id']} back into pool {data['pool_id']}: "
                    f"{error_code(error)} {reason or ''}".rstrip()
                    + "; the number is outside its pool and the pool keeps the marker tag, so the next plan "
                    "shows the rejoin; fix: "
                    + REJOIN_HINTS.get(reason, "make the number's settings match the pool's, then apply again"),
                ) from None
            described = api.call(SMS_VOICE, "DescribePhoneNumbers", PhoneNumberIds=[data["id"]])
            if not any(n.get("PoolId") == data["pool_id"] for n in described.get("PhoneNumbers", [])):
                raise UserError(
                    f"AWS reports phone number {data['id']} as already associated, but it is not in pool "
                    f"{data['pool_id']}; the pool keeps the marker tag, so the next plan shows the rejoin; "
                    "fix: check the number's pool in the console, then apply again",
                ) from None
        api.call(SMS_VOICE, "UntagResource", ResourceArn=data["pool_arn"], TagKeys=[REJOIN_PREFIX + data["id"]])


# Why AWS refuses a rejoin, and what fixes it (AssociateOriginationIdentity: "If the origination
# identity configuration doesn't match the pool's configuration, an error is returned").
REJOIN_HINTS = {
    "OPT_OUT_LIST_MISMATCH": "a pool's members share the pool's opt-out list: set opt_out_list on the pool, "
    "not on the number, or update the number back to the pool's list",
    "PHONE_NUMBER_ASSOCIATED_TO_POOL": "the number joined another pool meanwhile; remove it there first",
}


def _pool_list_mismatch(
    live: NumbersLive, number: LiveNumber, spec: PhoneNumberSpec, changed: dict[str, tuple[Any, Any]]
) -> str | None:
    """Why a pooled number cannot move to the opt-out list the policy names, or None.

    AWS: the members of a pool share its settings, the opt-out list included (user guide, "Phone
    pools"; AssociateOriginationIdentity refuses a mismatch with OPT_OUT_LIST_MISMATCH), and sends
    through the pool honour the pool's list ("Change a pool's opt-out list"). So the number could
    never rejoin: the juggle would leave it outside its pool.
    """
    if "opt_out_list" not in changed or number.pool_id is None:
        return None
    wanted_list = changed["opt_out_list"][1]
    pool_list = live.pool_lists_after.get(number.pool_id)
    if list_name(wanted_list) == (pool_list or "Default"):
        return None
    where = f" ({spec.source})" if spec.source else ""
    return (
        f"{spec.ref}{where} is in pool {number.pool_id}, whose opt-out list is {pool_list or 'Default'}; AWS requires "
        f"a pool's members to use the pool's opt-out list, so {spec.ref} could not rejoin the pool with "
        f"{wanted_list}: set opt_out_list: {wanted_list} on the pool (pools: - ref: {number.pool_id}) instead of on "
        "the number, or remove opt_out_list from the number"
    )
