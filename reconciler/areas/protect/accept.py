"""``drift --accept`` for protect: live country rules and deletion protection folded back into the
protect configurations of the policy files (the generic editor: reconciler/config/edit.py).

A country blocked by an emergency block is never unblocked here: lifting it is a decision, made by
editing emergency.yaml, not drift to accept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ruamel.yaml.comments import CommentedMap

from reconciler.areas.protect.emergency_file import read_emergency_blocks
from reconciler.areas.protect.spec import STATUSES, EmergencyBlock
from reconciler.config.edit import UNSUPPORTED, DriftAcceptor, PolicyEdit, flow_list
from reconciler.countries import SUPPORTED
from reconciler.plan import Change, Plan

SECTION = "protect_configurations"


class ProtectAcceptor(DriftAcceptor):
    def __init__(self, edit: PolicyEdit) -> None:
        super().__init__(edit)
        blocks: Iterable[EmergencyBlock]
        if edit.policy is not None:
            blocks = {b for d in edit.policy.desired.values() for b in d.emergency_blocks}
        else:
            blocks = read_emergency_blocks(edit.config_dir)
        self.emergency: set[tuple[str, str]] = {(b.country, str(c)) for b in blocks for c in b.capabilities}
        # Configurations the current plan would create: they do not exist live, so their rule
        # "drift" is not drift.
        self.missing: set[str] = set()
        # Rule maps edited; tidied once all their countries moved (a list emptied by one change and
        # refilled by the next keeps its place and comment).
        self.edited_rules: list[CommentedMap] = []

    def begin(self, plan: Plan) -> None:
        self.missing = {
            str((c.data or {}).get("name", c.key.split("/")[-1]))
            for c in plan.changes
            if c.resource_type == "protect-configuration" and c.action == "create"
        }

    def fold(self, target: str, change: Change) -> None:
        if change.resource_type == "country-rules":
            self._country_rules(target, change)
        elif change.resource_type == "protect-configuration" and change.key.endswith("/deletion-protection"):
            name = str((change.data or {}).get("name", change.key.split("/")[1]))
            found = self.edit.find_by(SECTION, "name", name, target)
            self.edit.set_attributes(change, found, {"deletion_protection": change.before})
        else:
            self.edit.skip(change, UNSUPPORTED)

    def finish(self) -> None:
        for rules in self.edited_rules:
            _drop_empty(rules)
            _normalise(rules)

    def _country_rules(self, target: str, change: Change) -> None:
        data = change.data or {}
        name, capability = str(data.get("name", "")), str(data.get("capability", ""))
        live = change.before if isinstance(change.before, dict) else {}
        if name in self.missing:
            self.edit.skip(change, f"protect configuration {name!r} does not exist live; nothing to accept")
            return
        found = self.edit.find_by(SECTION, "name", name, target)
        if found is None or not capability:
            self.edit.skip(change, f"protect configuration {name!r} is not in the policy files")
            return
        doc, entry = found
        rules = entry.get("rules", {}).get(capability) if isinstance(entry.get("rules"), dict) else None
        if rules is None:
            self.edit.skip(change, f"{capability} rules of {name!r} are not managed by the policy")
            return
        touched = False
        for country in sorted(live):
            if (country, capability) in self.emergency:
                # The policy's BLOCK comes from an emergency block: lifting it is a decision, not drift.
                self.edit.skip(change, f"{country} is blocked by an emergency block (edit emergency.yaml)")
                continue
            _set_country(rules, country, str(live[country]))
            touched = True
        if touched:
            self.edit.accepted(change, doc)
            self.edited_rules.append(rules)


def _set_country(rules: CommentedMap, country: str, status: str) -> None:
    """Make ``country`` have ``status`` in one capability's compact rules (default + exceptions).

    Emptied status lists are left in place for :func:`_drop_empty` so that a list that empties
    and refills in one edit keeps its position and comment.
    """
    for name in STATUSES:
        listed = rules.get(name)
        if listed is not None and country in listed:
            listed.remove(country)
    if status == rules.get("default", "ALLOW"):
        return
    listed = rules.get(status)
    if listed is None:
        rules[status] = flow_list([country])
    elif list(listed) == sorted(listed):
        listed.insert(next((i for i, c in enumerate(listed) if str(c) > country), len(listed)), country)
    else:
        listed.append(country)  # the author's own order: keep it, add at the end


def _normalise(rules: CommentedMap) -> None:
    """Flip ``default`` to the status most countries have, so the exceptions stay short.

    Only when the current default is no longer the most common status (e.g. live opened a
    ``default: BLOCK`` capability everywhere): the lists are then rewritten from scratch.
    """
    default = str(rules.get("default", "ALLOW"))
    status = {c: default for c in SUPPORTED}
    for name in STATUSES:
        for country in rules.get(name) or []:
            status[str(country)] = name
    counts = Counter(status.values())
    best = max(STATUSES, key=lambda s: (counts[s], s == default))
    if best == default:
        return
    rules["default"] = best
    for name in STATUSES:
        listed = sorted(c for c, s in status.items() if s == name and name != best)
        if listed:
            rules[name] = flow_list(listed)
        elif name in rules:
            del rules[name]


def _drop_empty(rules: CommentedMap) -> None:
    for name in STATUSES:
        listed = rules.get(name)
        if listed is not None and len(listed) == 0:
            del rules[name]
