"""Import of the phone_numbers area: live phone numbers, pools and sender IDs as policy items.

Phone numbers are written by E.164 number; pools by their ``Name`` tag when it is unique, else
by id; ``international_sending`` only for US toll-free numbers (elsewhere AWS refuses it).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from reconciler.areas.importing import AreaImporter, ImportContext, ImportedArea
from reconciler.areas.phone_numbers.area import NumbersLive, PhoneNumbersArea, own_sender_ids
from reconciler.areas.phone_numbers.spec import PhoneNumberSpec, PoolSpec, SenderIdSpec
from reconciler.aws import Api
from reconciler.config.model import Desired, Target

POOL_NAME = re.compile(r"[A-Za-z0-9_.:/+=@-]{1,256}")  # the policy's pool_ref pattern


def read(api: Api, target: Target) -> NumbersLive:
    # The area reads numbers and pools when the policy names any; name a probe of each kind (an
    # id and a Name tag that match nothing) so that it lists them all, with tags.
    sender_ids = tuple(SenderIdSpec(item["SenderId"], item["IsoCountryCode"]) for item in own_sender_ids(api))
    probe = Desired(
        target=target,
        phone_numbers=(PhoneNumberSpec("phone-import-probe"),),
        pools=(PoolSpec("import-probe"),),
        sender_ids=sender_ids,
    )
    return PhoneNumbersArea().read(api, probe)


def pool_refs(numbers: NumbersLive) -> dict[str, str]:
    """Pool ARN -> reference: the Name tag when it is unique and writable as a reference, else the id."""
    names = Counter(p.name for p in numbers.pools if p.name)

    def usable(name: str | None) -> bool:
        if not name:
            return False
        return names[name] == 1 and not name.startswith("pool-") and bool(POOL_NAME.fullmatch(name))

    return {p.arn: (str(p.name) if usable(p.name) else p.id) for p in numbers.pools}


def render(numbers: NumbersLive, context: ImportContext) -> ImportedArea:
    refs = pool_refs(numbers)
    # Shares name the numbers and pools they share the way this file writes them.
    context.refs.update(refs)
    context.refs.update({n.arn: n.number for n in numbers.numbers})
    phone_numbers = []
    for n in sorted(numbers.numbers, key=lambda n: n.number):
        doc: dict[str, Any] = {"phone_number": n.number}
        if n.country == "US" and n.number_type == "TOLL_FREE":
            doc["international_sending"] = bool(n.attributes.get("international_sending"))
        if n.attributes.get("opt_out_list"):
            doc["opt_out_list"] = n.attributes["opt_out_list"]
        doc["deletion_protection"] = bool(n.attributes.get("deletion_protection"))
        phone_numbers.append(doc)
    pools = []
    for p in sorted(numbers.pools, key=lambda p: refs[p.arn]):
        doc = {"pool": refs[p.arn]}
        if p.attributes.get("opt_out_list"):
            doc["opt_out_list"] = p.attributes["opt_out_list"]
        doc["deletion_protection"] = bool(p.attributes.get("deletion_protection"))
        pools.append(doc)
    sender_ids = [
        {"sender_id": s.sender_id, "country": s.country,
         "deletion_protection": bool(s.attributes.get("deletion_protection"))}
        for s in sorted(numbers.sender_ids, key=lambda s: (s.sender_id, s.country))
    ]
    return ImportedArea({"phone_numbers": phone_numbers, "pools": pools, "sender_ids": sender_ids})


IMPORTER = AreaImporter("phone_numbers.yaml", ("phone_numbers", "pools", "sender_ids"), read, render)
