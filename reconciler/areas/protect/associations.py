"""The account default protect configuration and the configuration sets each configuration protects."""

from __future__ import annotations

from typing import Any, Literal

from botocore.exceptions import ClientError

from reconciler.areas.protect.live import LiveProtectConfiguration, ProtectLive, ProtectParts
from reconciler.areas.protect.spec import ProtectConfigurationSpec
from reconciler.aws import SMS_VOICE, Api, error_code
from reconciler.cli import UserError
from reconciler.config.model import Desired
from reconciler.effects.protect_paths import account_default
from reconciler.plan import (
    FLAG_BLOCKED,
    FLAG_NEEDS_FORCE,
    ORDER_ASSOCIATE,
    ORDER_DISASSOCIATE,
    Change,
)

# A reviewer flag: the change makes or removes the account default (render.py highlights it).
FLAG_ACCOUNT_DEFAULT = "account-default"


class MissingAccountDefault(UserError):
    """Emergency blocks with a send path no protect configuration covers."""



def wanted_configuration_sets(desired: Desired, spec: ProtectConfigurationSpec) -> set[str]:
    names = set(spec.configuration_sets)
    names.update(cs.name for cs in desired.configuration_sets if cs.protect_configuration == spec.name)
    return names



class Associations(ProtectParts):
    """Account-default and configuration-set association changes, and writing them."""

    @staticmethod
    def _require_default(desired: Desired, live: ProtectLive, changes: list[Change], declared: bool) -> None:
        """Emergency blocks need an account default: without one, sends without a configuration set
        (and sets without a protect configuration) meet no protect configuration at all."""
        if not desired.emergency_blocks or declared:
            return
        removed = any(c.resource_type == "account-default" and c.action == "disassociate" for c in changes)
        if account_default(live) is not None and not removed:
            return
        bare = sorted(cs for cs, pid in live.configuration_sets.items() if pid is None)
        blocked = ", ".join(sorted({b.country for b in desired.emergency_blocks}))
        paths = "sends without a configuration set" + (f" and configuration sets {', '.join(bare)}" if bare else "")
        first = next((b.source for b in desired.emergency_blocks if b.source is not None), None)
        raise MissingAccountDefault(
            f"protect: the emergency blocks ({blocked}) cannot take effect on {paths}: the account will have no "
            "default protect configuration, so no protect configuration applies to them"
            + (f" (first block at {first})" if first else ""),
            hint="declare an account default in protect.yaml (a protect configuration with `account_default: true`; "
                 "it is created if it does not exist)",
        )

    def _remove_default(self, base: str, label: str) -> Change:
        return Change(
            area=self.name,
            action="disassociate",
            resource_type="account-default",
            key=f"{base}/account-default",
            before=label,
            after=None,
            order=ORDER_DISASSOCIATE,
            flags=frozenset({FLAG_NEEDS_FORCE, FLAG_ACCOUNT_DEFAULT}),
            data={"name": label},
            summary=f"remove {label} as the account default protect configuration",
        )

    @staticmethod
    def _current_default(live: ProtectLive) -> str | None:
        for config in live.configurations:
            if config.account_default:
                return config.label
        return None

    def _configuration_set_changes(
        self, desired: Desired, live: ProtectLive, spec: ProtectConfigurationSpec, config: LiveProtectConfiguration | None
    ) -> list[Change]:
        want = wanted_configuration_sets(desired, spec)
        have = {cs for cs, pid in live.configuration_sets.items() if config is not None and pid == config.id}
        labels = {c.id: c.label for c in live.configurations}
        changes = []
        for cs in sorted(want - have):
            if cs not in live.configuration_sets:
                reason = (f"configuration set {cs} does not exist (the reconciler does not create "
                          "configuration sets); create it or remove it from the policy")
                changes.append(self._association(spec.name, cs, "associate", flags=frozenset({FLAG_BLOCKED}),
                                                 reason=reason))
                continue
            other = live.configuration_sets.get(cs)
            changes.append(self._association(spec.name, cs, "associate", before=labels.get(other, other) if other else None,
                                             replaces=other))
        claimed = {cs for s in desired.protect_configurations for cs in wanted_configuration_sets(desired, s)}
        for cs in sorted(have - want):
            if cs in claimed:
                continue  # the association moves to another configuration: its associate step replaces it
            changes.append(self._association(spec.name, cs, "disassociate", before=spec.name))
        return changes

    def _association(self, name: str, cs: str, action: Literal["associate", "disassociate"], before: str | None = None,
                     flags: frozenset[str] = frozenset(), **data: Any) -> Change:
        """Link (or unlink) configuration set ``cs`` and protect configuration ``name``."""
        linking = action == "associate"
        return Change(
            area=self.name,
            action=action,
            resource_type="configuration-set-association",
            key=f"protect/{name}/configuration-set/{cs}",
            before=before,
            after=name if linking else None,
            order=ORDER_ASSOCIATE if linking else ORDER_DISASSOCIATE,
            flags=flags,
            data={"name": name, "configuration_set": cs, **data},
            summary=f"associate configuration set {cs} with {name}" if linking
            else f"disassociate configuration set {cs} from {name}",
        )

    def _apply_association(self, api: Api, change: Change, name: str) -> None:
        cs = str(change.data["configuration_set"])
        if change.action == "associate":
            # Associating replaces the set's current protect configuration in the same call (AWS
            # API reference, AssociateProtectConfiguration): never disassociate first, which would
            # leave the set unprotected (blocked countries reachable) between the two calls.
            try:
                api.call(SMS_VOICE, "AssociateProtectConfiguration", ProtectConfigurationId=self._id(name), ConfigurationSetName=cs)
            except ClientError as error:
                if error_code(error) != "ConflictException" or self._associated(api, cs) != self._id(name):
                    raise
        else:
            try:
                api.call(SMS_VOICE, "DisassociateProtectConfiguration", ProtectConfigurationId=self._id(name), ConfigurationSetName=cs)
            except ClientError as error:
                if error_code(error) not in {"ConflictException", "ResourceNotFoundException"}:
                    raise
                if self._associated(api, cs) == self._id(name):
                    raise

    @staticmethod
    def _associated(api: Api, configuration_set: str) -> str | None:
        answer = api.call(SMS_VOICE, "DescribeConfigurationSets", ConfigurationSetNames=[configuration_set])
        for item in answer.get("ConfigurationSets", []):
            return item.get("ProtectConfigurationId") or None
        return None
