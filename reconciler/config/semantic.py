"""Semantic layer: structurally valid documents -> the typed :class:`Policy`, checking meaning.

Runs only after every file passed the YAML and schema layers, so every value has the type the
schema promises. This module knows no policy area: it collects the items of every list section
the areas declare (:class:`~reconciler.config.section.PolicySection`), resolves targets, checks
that names are unique per target and that declared cross-references resolve, then lets each area
parse its items and check its own rules (``reconciler/areas/<area>/policy.py``), and builds each
target's ``Desired`` from the parsed specs. Every problem becomes a Diagnostic; nothing raises for
user mistakes.
"""

from __future__ import annotations

import difflib
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session

from reconciler.config.diagnostics import Diagnostic, Severity
from reconciler.config.model import (
    DEFAULT_PROTECT_CONFIGURATIONS_QUOTA,
    Desired,
    Policy,
    Source,
    Target,
    TargetQuotas,
)
from reconciler.config.numbers import E164_HINT, e164_problem, mask
from reconciler.config.section import ListSection, PolicySection
from reconciler.config.yaml_loader import Mark, YamlMap, YamlSeq
from reconciler.countries import SUPPORTED, UNREACHABLE
from reconciler.countries import name as country_name

# Common non-ISO codes people write, and the ISO code they mean.
# Common mistakes; XK is Kosovo's user-assigned code, AWS's table prints KV.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR", "EN": "GB", "KO": "KR", "JA": "JP", "XK": "KV"}


@cache
def sms_regions() -> frozenset[str]:
    """Regions where botocore's endpoint data offers pinpoint-sms-voice-v2."""
    session = botocore.session.get_session()
    return frozenset(session.get_available_regions("pinpoint-sms-voice-v2"))


def policy_sections() -> list[PolicySection]:
    """Every area's policy section, in the areas' registry order."""
    from reconciler.areas.base import registry  # areas import this module: resolve at call time

    return [cls.section for cls in registry().values() if cls.section is not None]


@dataclass(frozen=True)
class Document:
    file: str  # as displayed in diagnostics
    kind: str  # a schema kind: "policy", or one an area declares for its own files
    data: YamlMap


@dataclass
class Item:
    """One list item of a section, with where it lives and the targets it applies to."""

    doc: Document
    section: str
    index: int
    data: YamlMap
    targets: frozenset[str] = frozenset()

    @property
    def source(self) -> Source:
        return Source(self.doc.file, self.data.mark.line, self.data.mark.column)

    def mark(self, key: str, *, of_key: bool = False) -> Mark:
        if key in self.data.key_marks:
            return self.data.key_marks[key] if of_key else self.data.value_marks[key]
        return self.data.mark

    def item_mark(self, key: str, index: int) -> Mark:
        seq = self.data.get(key)
        if isinstance(seq, YamlSeq) and 0 <= index < len(seq):
            return seq.item_marks[index]
        return self.mark(key)


@dataclass
class Context:
    config_dir: Path
    display_dir: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def report(
        self,
        file: str,
        mark: Mark,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Severity = "error",
    ) -> None:
        self.diagnostics.append(Diagnostic(file, mark.line, mark.column, code, severity, message, hint))

    def at(
        self,
        item: Item,
        mark: Mark,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Severity = "error",
    ) -> None:
        self.report(item.doc.file, mark, code, message, hint, severity)


def where(item: Item) -> str:
    return f"{item.doc.file}:{item.data.mark.line}:{item.data.mark.column}"


class PolicyBuilder:
    def __init__(
        self,
        config_dir: Path,
        display_dir: str,
        documents: list[Document],
        sections: list[PolicySection] | None = None,
    ) -> None:
        self.ctx = Context(config_dir, display_dir)
        self.documents = documents
        self.sections = policy_sections() if sections is None else sections
        self.lists: dict[str, ListSection] = {ls.name: ls for s in self.sections for ls in s.lists}
        self.singular = {name: ls.singular for name, ls in self.lists.items()} | {"targets": "target"}
        self.items: dict[str, list[Item]] = {name: [] for name in self.lists}
        self.target_items: list[Item] = []
        self.targets: dict[str, Target] = {}
        self.organization: tuple[str, frozenset[str]] | None = None
        self.prune: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ entry point
    def build(self) -> tuple[Policy | None, list[Diagnostic]]:
        self._collect()
        self._settings()
        self._targets()
        for section_items in self.items.values():
            for item in section_items:
                item.targets = self._item_targets(item)
        self._unique_names()
        specs = {
            id(item): self.lists[name].parse(self, item) for name, items in self.items.items() for item in items
        }
        for section in self.sections:
            if section.check_policy is not None:
                section.check_policy(self)

        desired: dict[str, Desired] = {}
        for target_name, target in sorted(self.targets.items()):
            chosen = {
                name: [(i, specs[id(i)]) for i in items if target_name in i.targets]
                for name, items in self.items.items()
            }
            for section in self.sections:
                if section.arrange is not None:
                    section.arrange(self, target_name, chosen)
            fields: dict[str, Any] = {name: tuple(spec for _, spec in pairs) for name, pairs in chosen.items()}
            desired[target_name] = Desired(
                target=target,
                prune=self.prune,
                organization_arn=self.organization[0] if self.organization else None,
                organization_accounts=self.organization[1] if self.organization else frozenset(),
                **fields,
            )
            self._references(target_name)
            for section in self.sections:
                if section.check_target is not None:
                    section.check_target(self, desired[target_name])
        diagnostics = self.ctx.diagnostics
        if any(d.is_error for d in diagnostics):
            return None, diagnostics
        policy = Policy(
            config_dir=self.ctx.display_dir, targets=dict(sorted(self.targets.items())), desired=desired
        )
        return policy, diagnostics

    # ------------------------------------------------------------------ collection
    def _collect(self) -> None:
        for doc in self.documents:
            for section, value in doc.data.items():
                if not isinstance(value, YamlSeq):
                    continue
                for index, entry in enumerate(value):
                    if not isinstance(entry, YamlMap):
                        continue
                    item = Item(doc, section, index, entry)
                    if section == "targets":
                        self.target_items.append(item)
                    elif section in self.items:
                        self.items[section].append(item)

    def _settings(self) -> None:
        """``organization`` and ``prune`` are policy-wide: one file declares each."""
        for key in ("organization", "prune"):
            holders = [doc for doc in self.documents if key in doc.data]
            if len(holders) > 1:
                for doc in holders:
                    others = ", ".join(
                        f"{o.file}:{o.data.key_marks[key].line}" for o in holders if o is not doc
                    )
                    self.ctx.report(
                        doc.file,
                        doc.data.key_marks[key],
                        "duplicate-setting",
                        f"{key!r} is also declared in {others}",
                        f"declare {key} in one file only",
                    )
            elif holders:
                doc = holders[0]
                if key == "prune":
                    self.prune = frozenset(str(area) for area in doc.data["prune"])
                else:
                    org = doc.data["organization"]
                    self.organization = (str(org["arn"]), frozenset(str(a) for a in org.get("accounts", [])))

    def _targets(self) -> None:
        if not self.target_items:
            first = self.documents[0] if self.documents else None
            self.ctx.report(
                first.file if first else self.ctx.display_dir,
                Mark(1, 1),
                "no-targets",
                "the policy declares no targets, so there is nothing to plan",
                "add a 'targets:' list with name, account_id and region",
            )
            return
        by_name: dict[str, list[Item]] = defaultdict(list)
        for item in self.target_items:
            by_name[str(item.data["name"])].append(item)
        for name, items in by_name.items():
            if len(items) > 1:
                self.duplicate_items("target", name, items)
            item = items[0]
            region = str(item.data["region"])
            if region not in sms_regions():
                close = difflib.get_close_matches(region, sorted(sms_regions()), n=1)
                self.ctx.at(
                    item,
                    item.mark("region"),
                    "unknown-region",
                    f"AWS End User Messaging SMS is not available in region {region!r}",
                    f"did you mean {close[0]}?" if close else "use a region such as us-east-1",
                )
            self.targets[name] = Target(
                name=name,
                account_id=str(item.data["account_id"]),
                region=region,
                role_arn=item.data.get("role_arn"),
                source=item.source,
                quotas=_target_quotas(item),
                quota_share=float(item.data["quota_share"]) if item.data.get("quota_share") is not None else None,
            )
        self._one_target_per_place(by_name)

    def _one_target_per_place(self, by_name: dict[str, list[Item]]) -> None:
        """Two targets on one account and Region would each delete what the other owns, forever."""
        by_place: dict[tuple[str, str], list[Item]] = defaultdict(list)
        for items in by_name.values():
            by_place[(str(items[0].data["account_id"]), str(items[0].data["region"]))].append(items[0])
        for (account, region), items in sorted(by_place.items()):
            first, *others = sorted(items, key=lambda i: (i.source.file, i.source.line))
            for item in others:
                self.ctx.at(
                    item,
                    item.mark("account_id"),
                    "duplicate-target-place",
                    f"targets {first.data['name']!r} ({first.source}) and {item.data['name']!r} are both account "
                    f"{account} in {region}: each apply would delete what the other one owns",
                    "declare one target per account and Region (merge the two, or change the account or region)",
                )

    def _item_targets(self, item: Item) -> frozenset[str]:
        names = item.data.get("targets")
        if names is None:
            return frozenset(self.targets)
        chosen: set[str] = set()
        for index, name in enumerate(names):
            if name in self.targets:
                chosen.add(name)
                continue
            close = difflib.get_close_matches(name, sorted(self.targets), n=1)
            self.ctx.at(
                item,
                item.item_mark("targets", index),
                "unknown-target",
                f"target {name!r} is not declared",
                f"did you mean {close[0]!r}?"
                if close
                else f"declared targets: {', '.join(sorted(self.targets)) or 'none'}",
            )
        return frozenset(chosen)

    def duplicate_items(self, what: str, name: str, items: list[Item]) -> None:
        section = self.lists.get(items[0].section)
        key = (section.key_field if section else None) or "name"
        for item in items:
            others = ", ".join(
                f"{o.doc.file}:{o.mark(key).line}:{o.mark(key).column}" for o in items if o is not item
            )
            self.ctx.at(
                item,
                item.mark(key),
                "duplicate-name",
                f"{what} {name!r} is declared more than once (also at {others})",
                "names are unique per target across all files: remove or rename one",
            )

    def _unique_names(self) -> None:
        for section, items in self.items.items():
            if not self.lists[section].unique:
                continue
            by_key: dict[str, list[Item]] = defaultdict(list)
            for item in items:
                by_key[self.item_key(item)].append(item)
            for key, same in by_key.items():
                clashing = [a for a in same if any(b is not a and a.targets & b.targets for b in same)]
                if clashing:
                    self.duplicate_items(self.singular[section], key, clashing)

    # ------------------------------------------------------------------ helpers for the areas' checks
    def item_key(self, item: Item) -> str:
        """The item's name within its section (what references and duplicate checks use)."""
        return self.lists[item.section].item_key(item.data)

    def mine(self, section: str, target: str) -> Iterator[Item]:
        """The items of ``section`` that apply to ``target``."""
        return (i for i in self.items.get(section, []) if target in i.targets)

    # ------------------------------------------------------------------ value checks
    def country(self, item: Item, mark: Mark, code: str) -> bool:
        if code in SUPPORTED:
            return True
        alias = _COUNTRY_ALIASES.get(code)
        if alias:
            hint = f"did you mean {alias} ({country_name(alias)})?"
        elif code in UNREACHABLE:  # AWS says outright that it cannot send there
            hint = (
                f"AWS End User Messaging SMS cannot send to {code} ({country_name(code)}) (user guide, "
                "\"SMS and MMS country capabilities and limitations\"): remove it"
            )
        elif country_name(code) != code:  # an ISO country AWS's supported-countries table does not list
            hint = f"{code} ({country_name(code)}) is not in AWS's table (reconciler/data/countries.json): remove it"
        else:
            hint = "use an ISO 3166-1 alpha-2 code that AWS End User Messaging supports, e.g. GB, US, AU"
        self.ctx.at(
            item, mark, "unknown-country", f"{code!r} is not a country AWS End User Messaging supports", hint
        )
        return False

    def phone(
        self, item: Item, mark: Mark, number: str, *, personal: bool, file: str | None = None
    ) -> bool:
        problem = e164_problem(number)
        if problem is None:
            return True
        shown = mask(number) if personal else number
        self.ctx.report(
            file or item.doc.file, mark, "invalid-phone-number", f"phone number {shown} {problem}", E164_HINT
        )
        return False

    def declared(self, section: str, target: str) -> dict[str, Item]:
        """The items of ``section`` declared for ``target``, by name."""
        return {self.item_key(i): i for i in self.mine(section, target)}

    def unresolved(
        self, item: Item, mark: Mark, target: str, what: str, name: str, declared: Iterable[str]
    ) -> None:
        names = sorted(declared)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"declare it under {what}"
        scope = f" for target {target}" if len(self.targets) > 1 else ""
        self.ctx.at(
            item, mark, "unresolved-reference", f"{self.singular[what]} {name!r} is not declared{scope}", hint
        )

    def _references(self, target: str) -> None:
        """Every reference an area declares resolves to an item of the same target."""
        for section in self.sections:
            for ref in section.references:
                declared = self.declared(ref.to, target)
                for item in self.mine(ref.section, target):
                    if ref.many:
                        for index, name in enumerate(item.data.get(ref.field) or []):
                            if name not in declared:
                                mark = item.item_mark(ref.field, index)
                                self.unresolved(item, mark, target, ref.to, name, declared)
                    else:
                        name = item.data.get(ref.field)
                        if name is not None and name not in declared:
                            self.unresolved(item, item.mark(ref.field), target, ref.to, name, declared)


def _target_quotas(item: Item) -> TargetQuotas:
    """``targets[].quotas`` (already schema-checked) over AWS's defaults."""
    raw = item.data.get("quotas")
    if not isinstance(raw, dict):
        return TargetQuotas()
    overrides = raw.get("number_overrides_per_protect_configuration")
    return TargetQuotas(
        protect_configurations=int(raw.get("protect_configurations", DEFAULT_PROTECT_CONFIGURATIONS_QUOTA)),
        number_overrides_per_protect_configuration=None if overrides is None else int(overrides),
        source=Source(item.doc.file, item.mark("quotas").line, item.mark("quotas").column),
    )


def resolve_inside(config_dir: Path, relative: str) -> tuple[Path | None, str | None]:
    """The real path of ``relative`` when it stays inside ``config_dir`` (symlinks followed).

    Returns ``(path, None)``, or ``(None, problem)`` where problem is ``"missing"`` or a reason.
    """
    if "\0" in relative:  # the OS refuses such paths with ValueError, not OSError
        return None, "contains a NUL character"
    if os.path.isabs(relative) or relative.startswith("~") or "\\" in relative:
        return None, "must be a relative path inside the configuration directory"
    root = config_dir.resolve()
    lexical = os.path.normpath(relative)
    if lexical == ".." or lexical.startswith("../"):
        return None, "points outside the configuration directory"
    candidate = config_dir / relative
    try:
        real = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        return None, "missing"
    except (OSError, RuntimeError):
        return None, "cannot be resolved (a symlink loop?)"
    if not real.is_relative_to(root):
        return None, "follows a symlink out of the configuration directory"
    if not real.is_file():
        return None, "missing"
    return real, None
