"""Round-trip edits of the policy files: folding live drift back into git (``drift --accept``),
and reading the emergency blocks that ``reconciler block`` must not add twice (the one-line append
itself is :func:`reconciler.config.emergency.append_block`).

Edits go through ruamel.yaml's round-trip mode with the file's own indentation, so comments,
key order, quoting and flow lists (``BLOCK: [AU]  # why``) survive; only the values that change
are rewritten. Every edit is validated by loading the whole policy afterwards, and files are
restored when the result does not validate, so a failed edit changes nothing.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from reconciler.areas.protect.spec import CAPABILITIES, STATUSES, EmergencyBlock
from reconciler.config.emergency import EMERGENCY_FILE, KEY
from reconciler.config.model import Policy
from reconciler.countries import SUPPORTED
from reconciler.plan import Change, Plan

POLICY_SUFFIXES = (".yaml", ".yml")


class EditError(ValueError):
    """A policy file cannot be edited safely (it is left unchanged)."""


# -- round-trip documents ---------------------------------------------------------------------------


@dataclass
class Document:
    path: Path
    text: str
    data: Any
    yaml: YAML

    @classmethod
    def load(cls, path: Path) -> Document:
        text = path.read_text(encoding="utf-8")
        _, sequence_indent, offset = load_yaml_guess_indent(text)
        yaml = YAML()  # round-trip
        yaml.preserve_quotes = True
        yaml.width = 4096  # never re-wrap long lines
        yaml.indent(mapping=2, sequence=sequence_indent or 4, offset=offset if offset is not None else 2)
        return cls(path, text, yaml.load(text), yaml)

    def dumps(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()


def _policy_files(config_dir: Path) -> list[Path]:
    return sorted(
        p for p in config_dir.iterdir() if p.suffix in POLICY_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def _flow_list(items: Iterable[str]) -> CommentedSeq:
    seq = CommentedSeq(sorted(items))
    seq.fa.set_flow_style()
    return seq


def _applies_to(entry: Any, target: str) -> bool:
    targets = entry.get("targets") if isinstance(entry, dict) else None
    return not targets or target in targets


def _find(docs: list[Document], section: str, key: str, value: str, target: str) -> tuple[Document, Any] | None:
    for doc in docs:
        items = doc.data.get(section) if isinstance(doc.data, dict) else None
        for entry in items or []:
            if isinstance(entry, dict) and str(entry.get(key)) == value and _applies_to(entry, target):
                return doc, entry
    return None


def _find_sender(docs: list[Document], sender: str, country: str, target: str) -> tuple[Document, Any] | None:
    for doc in docs:
        for entry in (doc.data.get("sender_ids") if isinstance(doc.data, dict) else None) or []:
            if (isinstance(entry, dict) and str(entry.get("sender_id")) == sender and str(entry.get("country")) == country
                    and _applies_to(entry, target)):
                return doc, entry
    return None


# -- emergency blocks ------------------------------------------------------------------------------------


def covered_capabilities(blocks: Iterable[EmergencyBlock], country: str) -> set[str]:
    """The capabilities on which ``country`` is already blocked by emergency blocks."""
    covered: set[str] = set()
    for block in blocks:
        if block.country == country:
            covered.update(block.capabilities)
    return covered


def read_emergency_blocks(config_dir: str | Path) -> list[EmergencyBlock]:
    """The blocks in ``<config_dir>/emergency.yaml`` (empty when the file is missing or empty).

    Blocks limited to some targets (``targets:``) are left out: they do not block everywhere.
    """
    path = Path(config_dir) / EMERGENCY_FILE
    if not path.exists():
        return []
    try:
        doc = Document.load(path)
    except Exception as error:  # ruamel raises many error types; all mean "cannot parse"
        raise EditError(f"{path}: cannot parse: {error}") from None
    entries = (doc.data or {}).get(KEY) or []
    blocks = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("targets"):
            continue
        caps = tuple(str(c) for c in entry.get("capabilities") or CAPABILITIES)
        blocks.append(EmergencyBlock(country=str(entry.get("country")), capabilities=caps, reason=entry.get("reason")))  # type: ignore[arg-type]
    return blocks


# -- drift --accept ------------------------------------------------------------------------------------


@dataclass
class AcceptResult:
    changed_files: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # change keys folded into git
    skipped: list[str] = field(default_factory=list)  # "key: why" for drift that needs a human


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
        rules[status] = _flow_list([country])
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
            rules[name] = _flow_list(listed)
        elif name in rules:
            del rules[name]


def _drop_empty(rules: CommentedMap) -> None:
    for name in STATUSES:
        listed = rules.get(name)
        if listed is not None and len(listed) == 0:
            del rules[name]


def _accept_country_rules(docs: list[Document], target: str, change: Change, emergency: set[tuple[str, str]],
                          missing: set[str], result: AcceptResult, finalise: list[CommentedMap]) -> Document | None:
    data = change.data or {}
    name, capability = str(data.get("name", "")), str(data.get("capability", ""))
    live = change.before if isinstance(change.before, dict) else {}
    if name in missing:
        result.skipped.append(f"{change.key}: protect configuration {name!r} does not exist live; nothing to accept")
        return None
    found = _find(docs, "protect_configurations", "name", name, target)
    if found is None or not capability:
        result.skipped.append(f"{change.key}: protect configuration {name!r} is not in the policy files")
        return None
    doc, entry = found
    rules = entry.get("rules", {}).get(capability) if isinstance(entry.get("rules"), dict) else None
    if rules is None:
        result.skipped.append(f"{change.key}: {capability} rules of {name!r} are not managed by the policy")
        return None
    touched = False
    for country in sorted(live):
        if (country, capability) in emergency:
            # The policy's BLOCK comes from an emergency block: lifting it is a decision, not drift.
            result.skipped.append(f"{change.key}: {country} is blocked by an emergency block (edit emergency.yaml)")
            continue
        _set_country(rules, country, str(live[country]))
        touched = True
    if touched:
        result.accepted.append(change.key)
        finalise.append(rules)
        return doc
    return None


def _accept_attributes(docs: list[Document], target: str, change: Change, result: AcceptResult) -> Document | None:
    """phone_numbers/{number,pool,sender-id}/REF and protect/NAME/deletion-protection changes."""
    parts = change.key.split("/")
    live: dict[str, Any]
    if change.area == "protect" and change.key.endswith("/deletion-protection"):
        found = _find(docs, "protect_configurations", "name", str((change.data or {}).get("name", parts[1])), target)
        live = {"deletion_protection": change.before}
    elif change.area == "phone_numbers" and len(parts) >= 3 and isinstance(change.before, dict):
        kind, ref = parts[1], "/".join(parts[2:])
        live = dict(change.before)
        if kind == "number":
            found = _find(docs, "phone_numbers", "phone_number", ref, target)
        elif kind == "pool":
            found = _find(docs, "pools", "pool", ref, target)
        elif kind == "sender-id" and "/" in ref:
            sender, country = ref.rsplit("/", 1)
            found = _find_sender(docs, sender, country, target)
        else:
            found = None
    else:
        result.skipped.append(f"{change.key}: accepting this kind of drift is not supported; edit the policy by hand")
        return None
    if found is None:
        result.skipped.append(f"{change.key}: not found in the policy files")
        return None
    doc, entry = found
    for attribute, value in sorted(live.items()):
        entry[attribute] = value
    result.accepted.append(change.key)
    return doc


def accept_live(config_dir: str | Path, plans: Plan | Sequence[Plan], policy: Policy | None = None) -> list[str]:
    """Fold the drift in ``plans`` into the policy files; the files changed. See :func:`accept_drift`."""
    return accept_drift(config_dir, plans, policy).changed_files


def accept_drift(config_dir: str | Path, plans: Plan | Sequence[Plan], policy: Policy | None = None) -> AcceptResult:
    """Rewrite the policy files so that live state becomes the policy, for the drift in ``plans``.

    ``plans`` are drift plans (``before`` = live, ``after`` = policy), one per target. Handled:
    protect country rules, deletion protection, and phone number / pool / sender ID attributes;
    anything else is listed in ``skipped`` for a human. Countries blocked by an emergency block are
    never unblocked here. With ``policy`` (the loaded policy) those emergency blocks are known;
    without it they are read from the emergency file. Returns the changed files (relative paths as
    given by ``config_dir``), already written.
    """
    directory = Path(config_dir)
    docs = [Document.load(p) for p in _policy_files(directory) if p.name != EMERGENCY_FILE]
    blocks: Iterable[EmergencyBlock]
    if policy is not None:
        blocks = {b for d in policy.desired.values() for b in d.emergency_blocks}
    else:
        blocks = read_emergency_blocks(directory)
    emergency: set[tuple[str, str]] = {(b.country, str(c)) for b in blocks for c in b.capabilities}
    result = AcceptResult()
    touched: dict[Path, Document] = {}
    # Rule maps edited; tidied once all their countries moved (a list emptied by one change and
    # refilled by the next keeps its place and comment).
    finalise: list[CommentedMap] = []
    for plan in [plans] if isinstance(plans, Plan) else plans:
        # Configurations the plan would create do not exist live: their rule "drift" is not drift.
        missing = {
            str((c.data or {}).get("name", c.key.split("/")[-1]))
            for c in plan.changes
            if c.area == "protect" and c.resource_type == "protect-configuration" and c.action == "create"
        }
        for change in plan.sorted_changes():
            if change.area == "protect" and change.resource_type == "country-rules":
                doc = _accept_country_rules(docs, plan.target, change, emergency, missing, result, finalise)
            else:
                doc = _accept_attributes(docs, plan.target, change, result)
            if doc is not None:
                touched[doc.path] = doc
    for rules in finalise:
        _drop_empty(rules)
        _normalise(rules)
    originals = {path: doc.text for path, doc in touched.items()}
    try:
        for path, doc in sorted(touched.items()):
            text = doc.dumps()
            if text != doc.text:
                path.write_text(text, encoding="utf-8")
                result.changed_files.append(str(path))
        _validate(directory)
    except BaseException:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        raise
    return result


def _validate(config_dir: Path) -> None:
    from reconciler.config import format_text, has_errors, load_policy

    policy, diagnostics = load_policy(config_dir)
    if policy is None or has_errors(diagnostics):
        raise EditError("the edited policy does not validate; nothing was changed:\n" + format_text(diagnostics))
