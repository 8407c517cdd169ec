"""Number overrides: per destination number ALLOW/BLOCK (optionally expiring); BLOCK ones are written
in the block phase. Numbers are personal data: changes carry them as ``secret``, keyed by a mask."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.areas.protect.live import LiveProtectConfiguration, ProtectParts, iso
from reconciler.areas.protect.spec import ProtectConfigurationSpec
from reconciler.aws import SMS_VOICE, Api
from reconciler.plan import (
    FLAG_BLOCKS_COUNTRY,
    ORDER_MEMBERS_ADD,
    ORDER_MEMBERS_REMOVE,
    PHASE_BLOCKS,
    PHASE_MAIN,
    Change,
)
from reconciler.report.mask import unique_masks


class NumberOverrides(ProtectParts):
    """Override changes of one configuration, and writing them."""

    def _override_changes(self, base: str, spec: ProtectConfigurationSpec, config: LiveProtectConfiguration | None) -> list[Change]:
        want = {o.number: {"action": o.action, "expires": iso(o.expires)} for o in spec.number_overrides}
        have = (config.overrides or {}) if config is not None else {}
        labels = unique_masks([*want, *have])
        changes = []
        for number in sorted(set(want) | set(have)):
            label = labels[number]
            key = f"{base}/override/{label}"
            if number in want and want[number] != have.get(number):
                changes.append(
                    Change(
                        area=self.name,
                        action="add" if number not in have else "update",
                        resource_type="number-override",
                        key=key,
                        before=have.get(number),
                        after=want[number],
                        phase=PHASE_BLOCKS if want[number]["action"] == "BLOCK" else PHASE_MAIN,
                        order=ORDER_MEMBERS_ADD,
                        flags=frozenset({FLAG_BLOCKS_COUNTRY}) if want[number]["action"] == "BLOCK" else frozenset(),
                        data={"name": spec.name, **want[number]},
                        secret=number,
                        scope=f"{base}/overrides",
                        summary=f"{str(want[number]['action']).lower()} {label} in {spec.name}",
                    )
                )
            elif number not in want:
                changes.append(
                    Change(
                        area=self.name,
                        action="remove",
                        resource_type="number-override",
                        key=key,
                        before=have[number],
                        order=ORDER_MEMBERS_REMOVE,
                        data={"name": spec.name},
                        secret=number,
                        scope=f"{base}/overrides",
                        summary=f"remove the override for {label} from {spec.name}",
                    )
                )
        return changes

    def _apply_override(self, api: Api, change: Change, name: str) -> None:
        number = change.secret
        if number is None:
            raise ValueError(f"{change.key}: the number is not known (a saved plan must be re-derived)")
        if change.action == "remove":
            self._ignore_missing(
                lambda: api.call(
                    SMS_VOICE,
                    "DeleteProtectConfigurationRuleSetNumberOverride",
                    ProtectConfigurationId=self._id(name),
                    DestinationPhoneNumber=number,
                )
            )
            return
        params: dict[str, Any] = {
            "ProtectConfigurationId": self._id(name),
            "DestinationPhoneNumber": number,
            "Action": change.data["action"],
        }
        if change.data.get("expires"):
            params["ExpirationTimestamp"] = dt.datetime.fromisoformat(str(change.data["expires"]).replace("Z", "+00:00"))
        api.call(SMS_VOICE, "PutProtectConfigurationRuleSetNumberOverride", **params)
