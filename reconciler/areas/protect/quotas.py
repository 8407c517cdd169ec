"""Plan-time check of the account's protect quotas against the live account.

``reconciler validate`` counts only what the policy declares; the account may also hold protect
configurations the policy does not manage (created by hand, by another tool, or an emergency
configuration outside git), and every one of them counts toward AWS's quota ("By default you can
have up to 25 protect configurations", per account and Region). Creations run before deletions in
an apply (``ORDER_CREATE`` < ``ORDER_DELETE``), so the live count plus the creations must fit.
When they do not, every creation is flagged ``blocked`` with the reason: the guard then refuses the
apply before anything is created, instead of AWS refusing the 26th ``CreateProtectConfiguration``
half-way through. Number overrides per configuration work the same way when the target declares a
limit (additions run before removals).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping

from reconciler.config.model import Desired
from reconciler.plan import FLAG_BLOCKED, Change


def _block(change: Change, reason: str) -> Change:
    return dataclasses.replace(change, flags=change.flags | {FLAG_BLOCKED}, data={**change.data, "reason": reason})


def enforce(
    desired: Desired, live_configurations: int, live_overrides: Mapping[str, int], changes: list[Change]
) -> list[Change]:
    """``changes`` with the creations that would exceed a quota flagged ``blocked``.

    ``live_configurations``: every protect configuration of the account (managed or not);
    ``live_overrides``: managed configuration name -> its live number-override count."""
    quotas = desired.target.quotas
    creations = [c for c in changes if c.resource_type == "protect-configuration" and c.action == "create"]
    over_configurations = live_configurations + len(creations) > quotas.protect_configurations
    additions = Counter(str(c.data.get("name")) for c in changes if c.resource_type == "number-override" and c.action == "add")
    limit = quotas.number_overrides_per_protect_configuration
    full = {
        name for name, added in additions.items() if limit is not None and live_overrides.get(name, 0) + added > limit
    }
    if not over_configurations and not full:
        return changes
    out = []
    for change in changes:
        if over_configurations and change in creations:
            change = _block(
                change,
                f"the account has {live_configurations} protect configurations in {desired.target.region} and the "
                f"plan creates {len(creations)}: over the quota of {quotas.protect_configurations} (AWS's default is 25; "
                "configurations the policy does not manage count too). Delete unused configurations first, or, "
                "if AWS raised the quota, set quotas: {protect_configurations: N} on the target",
            )
        elif change.resource_type == "number-override" and change.action == "add" and change.data.get("name") in full:
            name = str(change.data.get("name"))
            change = _block(
                change,
                f"protect configuration {name} has {live_overrides.get(name, 0)} number overrides and the plan adds "
                f"{additions[name]}: over the target's quota of {limit} per configuration",
            )
        out.append(change)
    return out
