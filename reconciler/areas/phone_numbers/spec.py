"""The phone_numbers area's policy section as typed data: phone numbers, pools, sender IDs.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.config.model import Source


@dataclass(frozen=True)
class PhoneNumberSpec:
    """A phone number the policy manages, addressed by id (phone-…) or E.164 number."""

    ref: str  # "phone-…" id or "+1…" E.164, as written
    international_sending: bool | None = None  # None: not managed
    opt_out_list: str | None = None
    deletion_protection: bool | None = None
    source: Source | None = None


@dataclass(frozen=True)
class PoolSpec:
    ref: str  # pool id or the pool's Name tag
    opt_out_list: str | None = None
    deletion_protection: bool | None = None
    source: Source | None = None


@dataclass(frozen=True)
class SenderIdSpec:
    sender_id: str
    country: str  # ISO 3166-1 alpha-2
    deletion_protection: bool | None = None
    source: Source | None = None

    @property
    def ref(self) -> str:
        return f"{self.sender_id}/{self.country}"
