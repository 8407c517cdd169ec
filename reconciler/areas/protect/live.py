"""What the protect area reads: protect configurations (found by their ``Name`` tag, owned when
tagged ``managed-by``) and the configuration sets they protect, and the state the area's parts share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from reconciler.aws import error_code

NAME_TAG = "Name"
MANAGED_BY_TAG = "managed-by"
MANAGED_BY_VALUE = "sms-policy-reconciler"
PAGE = 100


@dataclass
class LiveProtectConfiguration:
    id: str
    arn: str
    tags: dict[str, str]
    account_default: bool
    deletion_protection: bool
    # capability -> full country map; only the capabilities the policy needs are read.
    rules: dict[str, dict[str, str]] = field(default_factory=dict)
    # destination number -> {"action", "expires"}; None when not read (not a managed configuration).
    overrides: dict[str, dict[str, Any]] | None = None

    @property
    def name(self) -> str | None:
        return self.tags.get(NAME_TAG)

    @property
    def owned(self) -> bool:
        return self.tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass
class ProtectLive:
    configurations: list[LiveProtectConfiguration] = field(default_factory=list)  # sorted by id
    # every configuration set -> its protect configuration id (None: none)
    configuration_sets: dict[str, str | None] = field(default_factory=dict)


def iso(value: Any) -> str | None:
    """Timestamps compared as UTC ISO 8601 to the second (``2026-12-31T00:00:00Z``)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")



class ProtectParts:
    """What the protect area's parts share: where ``apply`` finds the configurations a change names."""

    name: ClassVar[str]
    _ids: dict[str, str]  # label -> id (from read, and from creates during apply)
    _arns: dict[str, str]
    _tags: dict[str, dict[str, str]]  # label -> tags as read (and as written by this run)

    def _id(self, label: str) -> str:
        return self._ids[label]

    @staticmethod
    def _ignore_missing(action: Any) -> None:
        """Deleting what is already gone is success (a rerun after a crash)."""
        try:
            action()
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
