"""The phone_numbers area's policy section: phone numbers, pools and sender IDs, their checks and
schema fragment (``schema.json``)."""

from __future__ import annotations

from pathlib import Path

from reconciler.areas.phone_numbers.spec import PhoneNumberSpec, PoolSpec, SenderIdSpec
from reconciler.config.schema_build import fragment
from reconciler.config.section import ListSection, PolicySection, Reference
from reconciler.config.semantic import Item, PolicyBuilder

# US toll-free area codes (NANP): the only numbers InternationalSendingEnabled applies to.
US_TOLL_FREE_PREFIXES = tuple(f"+1{npa}" for npa in ("800", "833", "844", "855", "866", "877", "888"))


def phone_number(b: PolicyBuilder, item: Item) -> PhoneNumberSpec:
    data = item.data
    ref = str(data["phone_number"])
    if ref.startswith("+"):
        b.phone(item, item.mark("phone_number"), ref, personal=False)
        if data.get("international_sending") is True and not ref.startswith(US_TOLL_FREE_PREFIXES):
            b.ctx.at(
                item,
                item.mark("international_sending"),
                "international-sending-unsupported",
                f"international sending applies to US toll-free numbers only, not {ref}",
                "remove international_sending, or use a US toll-free number (+1 800/833/844/855/866/877/888)",
            )
    return PhoneNumberSpec(
        ref=ref,
        international_sending=data.get("international_sending"),
        opt_out_list=data.get("opt_out_list"),
        deletion_protection=data.get("deletion_protection"),
        source=item.source,
    )


def pool(b: PolicyBuilder, item: Item) -> PoolSpec:
    data = item.data
    return PoolSpec(
        ref=str(data["pool"]),
        opt_out_list=data.get("opt_out_list"),
        deletion_protection=data.get("deletion_protection"),
        source=item.source,
    )


def sender_id(b: PolicyBuilder, item: Item) -> SenderIdSpec:
    data = item.data
    b.country(item, item.mark("country"), str(data["country"]))
    return SenderIdSpec(
        sender_id=str(data["sender_id"]),
        country=str(data["country"]),
        deletion_protection=data.get("deletion_protection"),
        source=item.source,
    )


SECTION = PolicySection(
    area="phone_numbers",
    lists=(
        ListSection("phone_numbers", "phone number", phone_number, key_field="phone_number"),
        ListSection("pools", "pool", pool, key_field="pool"),
        ListSection(
            "sender_ids", "sender ID", sender_id, key_field="sender_id",
            key=lambda data: f"{data['sender_id']}/{data['country']}",
        ),
    ),
    schema=fragment(Path(__file__).with_name("schema.json")),
    codes={"international-sending-unsupported": "international sending on a number that is not US toll-free"},
    references=(
        Reference("phone_numbers", "opt_out_list", "opt_out_lists"),
        Reference("pools", "opt_out_list", "opt_out_lists"),
    ),
)
