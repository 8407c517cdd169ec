"""Identifier and ARN formats of pinpoint-sms-voice-v2 resources, as AWS writes them.

``phone-`` / ``pool-`` / ``protect-`` + 32 lowercase hex digits; ARNs
``arn:aws:sms-voice:REGION:ACCOUNT:TYPE/ID`` where TYPE is the API's ``ResourceType`` string.
Sender IDs are addressed by sender ID *and* country, so their ARN ends ``sender-id/SENDERID/CC``.
Opt-out lists and configuration sets are named, so their ARN ends with the name.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

SERVICE = "sms-voice"

PHONE_NUMBER = "phone-number"
SENDER_ID = "sender-id"
POOL = "pool"
OPT_OUT_LIST = "opt-out-list"
PROTECT_CONFIGURATION = "protect-configuration"
CONFIGURATION_SET = "configuration-set"
OPTED_OUT_NUMBER = "opted-out-number"

# The ResourceType strings (the model's ``ResourceType`` enum) of resources that have ARNs here.
ARN_RESOURCE_TYPES = (PHONE_NUMBER, SENDER_ID, POOL, OPT_OUT_LIST, PROTECT_CONFIGURATION, CONFIGURATION_SET)

_ID_PREFIX = {PHONE_NUMBER: "phone", POOL: "pool", PROTECT_CONFIGURATION: "protect"}

_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sms-voice:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<type>[a-z-]+)/(?P<rest>.+)$"
)


def new_id(resource_type: str, rng: random.Random | None = None) -> str:
    """A fresh ``phone-…``/``pool-…``/``protect-…`` id; ``rng`` makes generated worlds reproducible."""
    prefix = _ID_PREFIX[resource_type]
    digits = f"{rng.getrandbits(128):032x}" if rng is not None else uuid.uuid4().hex
    return f"{prefix}-{digits}"


def new_message_id(rng: random.Random | None = None) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng is not None else str(uuid.uuid4())


def arn(region: str, account: str, resource_type: str, resource_id: str) -> str:
    return f"arn:aws:{SERVICE}:{region}:{account}:{resource_type}/{resource_id}"


def sender_id_key(sender_id: str, iso_country_code: str) -> str:
    """The key of ``RegionState.sender_ids`` and the tail of a sender ID's ARN."""
    return f"{sender_id}/{iso_country_code}"


def sender_id_arn(region: str, account: str, sender_id: str, iso_country_code: str) -> str:
    return arn(region, account, SENDER_ID, sender_id_key(sender_id, iso_country_code))


@dataclass(frozen=True)
class ParsedArn:
    region: str
    account: str
    resource_type: str
    resource_id: str  # for sender IDs "SENDERID/CC"


def parse_arn(value: str) -> ParsedArn | None:
    """Split an sms-voice ARN; ``None`` when ``value`` is not one (plain ids, names, numbers)."""
    match = _ARN.match(value)
    if match is None or match["type"] not in ARN_RESOURCE_TYPES:
        return None
    rest = match["rest"]
    if match["type"] == SENDER_ID:
        if rest.count("/") != 1:
            return None
    elif "/" in rest:
        return None
    return ParsedArn(match["region"], match["account"], match["type"], rest)


def looks_like_arn(value: str) -> bool:
    return value.startswith("arn:")


def timestamp(value: float) -> datetime:
    """A stored float clock time as the aware ``datetime`` botocore serialises."""
    return datetime.fromtimestamp(value, tz=UTC)


def epoch(value: datetime | float | int) -> float:
    """A request timestamp (botocore parses them to aware datetimes) as a float clock time."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)
