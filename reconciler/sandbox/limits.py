"""Resource quotas of an account (how many of a thing it may have), as opposed to the API rate
quotas of ``quotas.py``.

AWS applies them per account and Region ("Unless otherwise noted, each quota is Region-specific",
user guide, "Quotas for AWS End User Messaging SMS", sms-voice/latest/userguide/quotas.html), and
raises them on request. The sandbox keeps AWS's defaults and lets a test or a demo raise one for
the whole world or for one account through ``World.settings``:

    world.settings["quota.protect_configurations"] = 50                       # every account
    world.settings["quota.protect_configurations"] = {"111122223333": 50}     # one account

A missing key is AWS's default; a default of ``None`` means the sandbox knows no published limit
and enforces none unless a test sets one.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.errors import ApiError

# "By default you can have up to 25 protect configurations in your AWS account" (user guide, "Create
# a protect configuration in AWS End User Messaging SMS", sms-voice/latest/userguide/protect-configuration-create.html).
PROTECT_CONFIGURATIONS = "quota.protect_configurations"
# AWS lists ServiceQuotaExceededException for PutProtectConfigurationRuleSetNumberOverride but no
# default limit could be found (user guide, API reference, botocore's models; see
# docs/sandbox-operations.md): unenforced unless configured (assumption).
NUMBER_OVERRIDES = "quota.number_overrides_per_protect_configuration"

DEFAULTS: dict[str, int | None] = {PROTECT_CONFIGURATIONS: 25, NUMBER_OVERRIDES: None}


def limit(settings: dict[str, Any], name: str, account: str) -> int | None:
    value = settings.get(name, DEFAULTS[name])
    if isinstance(value, dict):
        value = value.get(account, DEFAULTS[name])
    return None if value is None else int(value)


def check(settings: dict[str, Any], name: str, account: str, used: int, reason: str | None, what: str) -> None:
    """``ServiceQuotaExceededException`` (with ``Reason`` when the model has one) when one more
    would exceed the quota."""
    maximum = limit(settings, name, account)
    if maximum is None or used < maximum:
        return
    message = f"Service quota exceeded: the account already has {used} {what} (quota {maximum})."
    if reason:
        raise ApiError("ServiceQuotaExceededException", message, Reason=reason)
    raise ApiError("ServiceQuotaExceededException", message)
