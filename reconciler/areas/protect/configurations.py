"""The protect configurations themselves: create (tagged Name and managed-by), deletion protection,
and delete (after its account default and configuration-set associations are removed)."""

from __future__ import annotations

import uuid

from reconciler.areas.protect.associations import Associations
from reconciler.areas.protect.live import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    NAME_TAG,
    LiveProtectConfiguration,
    ProtectLive,
)
from reconciler.aws import SMS_VOICE, Api
from reconciler.plan import (
    FLAG_DELETION_PROTECTION_OFF,
    FLAG_NEEDS_FORCE,
    ORDER_DELETE,
    ORDER_DISASSOCIATE,
    ORDER_UPDATE,
    Change,
)


class Configurations(Associations):
    """Creating, deletion protection and deleting; a delete first undoes the associations."""

    def _deletion_protection(self, base: str, name: str, before: bool, after: bool) -> Change:
        flags = {FLAG_NEEDS_FORCE, FLAG_DELETION_PROTECTION_OFF} if not after else set()
        return Change(
            area=self.name,
            action="update",
            resource_type="protect-configuration",
            key=f"{base}/deletion-protection",
            before=before,
            after=after,
            order=ORDER_UPDATE,
            flags=frozenset(flags),
            data={"name": name, "enabled": after},
            summary=f"turn deletion protection {'on' if after else 'off'} for {name}",
        )

    def _delete_steps(self, live: ProtectLive, config: LiveProtectConfiguration, any_default: bool) -> list[Change]:
        # Keys must be unique: a Name two configurations carry (or another one's id) names neither.
        unique = sum(1 for c in live.configurations if config.label in (c.label, c.id)) == 1
        label = config.label if unique else config.id
        base = f"protect/{label}"
        steps: list[Change] = []
        if config.account_default and not any_default:
            steps.append(self._remove_default(base, label))
        for cs in sorted(cs for cs, pid in live.configuration_sets.items() if pid == config.id):
            steps.append(
                Change(
                    area=self.name,
                    action="disassociate",
                    resource_type="configuration-set-association",
                    key=f"{base}/configuration-set/{cs}",
                    before=label,
                    order=ORDER_DISASSOCIATE,
                    data={"name": label, "configuration_set": cs},
                    summary=f"disassociate configuration set {cs} from {label}",
                )
            )
        if config.deletion_protection:
            steps.append(self._deletion_protection(base, label, True, False))
        steps.append(
            Change(
                area=self.name,
                action="delete",
                resource_type="protect-configuration",
                key=base,
                before={"name": config.name, "id": config.id, "owned": config.owned},
                order=ORDER_DELETE,
                data={"name": label},
                summary=f"delete protect configuration {label} ({config.id})",
            )
        )
        return steps

    def _create(self, api: Api, name: str, deletion_protection: bool) -> None:
        if name in self._ids:
            return  # created earlier in this run (a retried step)
        answer = api.call(
            SMS_VOICE,
            "CreateProtectConfiguration",
            ClientToken=str(uuid.uuid4()),
            DeletionProtectionEnabled=deletion_protection,
            Tags=[{"Key": NAME_TAG, "Value": name}, {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}],
        )
        self._ids[name] = answer["ProtectConfigurationId"]
        self._arns[name] = answer["ProtectConfigurationArn"]
