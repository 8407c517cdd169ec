"""Semantic layer: structurally valid documents -> the typed :class:`Policy`, checking meaning.

Runs only after every file passed the YAML and schema layers, so every value has the type the
schema promises. Checks: names unique per target, targets and references resolve, countries and
phone numbers are real, one status per country and capability, shares carry their opt-out lists'
members, principals outside the organization are allowed explicitly, numbers files stay inside the
configuration directory. Every problem becomes a Diagnostic; nothing raises for user mistakes.
"""

from __future__ import annotations

import difflib
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, cast

import botocore.session

from reconciler.config.diagnostics import Diagnostic, Severity
from reconciler.config.model import (
    CAPABILITIES,
    DEFAULT_PROTECT_CONFIGURATIONS_QUOTA,
    Capability,
    CapabilityRules,
    ConfigurationSetSpec,
    Desired,
    EmergencyBlock,
    NumberOverrideSpec,
    OptOutListSpec,
    PhoneNumberSpec,
    Policy,
    PoolSpec,
    ProtectConfigurationSpec,
    ProtectStatus,
    ResourceRef,
    SenderIdSpec,
    ShareSpec,
    Source,
    Target,
    TargetQuotas,
)
from reconciler.config.numbers import (
    E164_HINT,
    MAX_NUMBERS_FILE_BYTES,
    e164_problem,
    mask,
    read_numbers,
)
from reconciler.config.yaml_loader import Mark, YamlMap, YamlSeq
from reconciler.countries import SUPPORTED
from reconciler.countries import name as country_name

# AWS quota: opt-out lists per account, the Default list included.
MAX_OPT_OUT_LISTS = 25
DEFAULT_OPT_OUT_LIST = "Default"
# RAM's AWS managed permission of each shareable sms-voice resource kind (one per type; RAM
# attaches it by default, so `permissions` is needed only to name it explicitly).
SHARE_PERMISSIONS = {
    "AWSRAMDefaultPermissionSmsVoice": "phone_number",
    "AWSRAMDefaultPermissionSmsVoiceSenderId": "sender_id",
    "AWSRAMDefaultPermissionSmsVoicePool": "pool",
    "AWSRAMDefaultPermissionSmsVoiceOptOutList": "opt_out_list",
}
PERMISSION_ARN_PREFIX = "arn:aws:ram::aws:permission/"
# US toll-free area codes (NANP): the only numbers InternationalSendingEnabled applies to.
US_TOLL_FREE_PREFIXES = tuple(f"+1{npa}" for npa in ("800", "833", "844", "855", "866", "877", "888"))
# Common non-ISO codes people write, and the ISO code they mean.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR", "EN": "GB", "KO": "KR", "JA": "JP"}
_MAX_FILE_ISSUES = 50


@cache
def sms_regions() -> frozenset[str]:
    """Regions where botocore's endpoint data offers pinpoint-sms-voice-v2."""
    session = botocore.session.get_session()
    return frozenset(session.get_available_regions("pinpoint-sms-voice-v2"))


@dataclass(frozen=True)
class Document:
    file: str  # as displayed in diagnostics
    kind: str  # "policy" | "emergency"
    data: YamlMap


@dataclass
class _Item:
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
class _Context:
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
        item: _Item,
        mark: Mark,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Severity = "error",
    ) -> None:
        self.report(item.doc.file, mark, code, message, hint, severity)


_SECTIONS = (
    "phone_numbers",
    "pools",
    "sender_ids",
    "configuration_sets",
    "protect_configurations",
    "opt_out_lists",
    "shares",
)


def _where(item: _Item) -> str:
    return f"{item.doc.file}:{item.data.mark.line}:{item.data.mark.column}"


def _item_key(item: _Item) -> str:
    data = item.data
    if item.section == "phone_numbers":
        return str(data["phone_number"])
    if item.section == "pools":
        return str(data["pool"])
    if item.section == "sender_ids":
        return f"{data['sender_id']}/{data['country']}"
    return str(data["name"])


def _key_field(section: str) -> str:
    return {"phone_numbers": "phone_number", "pools": "pool", "sender_ids": "sender_id"}.get(section, "name")


_SINGULAR = {
    "phone_numbers": "phone number",
    "pools": "pool",
    "sender_ids": "sender ID",
    "configuration_sets": "configuration set",
    "protect_configurations": "protect configuration",
    "opt_out_lists": "opt-out list",
    "shares": "share",
    "targets": "target",
}


class PolicyBuilder:
    def __init__(self, config_dir: Path, display_dir: str, documents: list[Document]) -> None:
        self.ctx = _Context(config_dir, display_dir)
        self.documents = documents
        self.items: dict[str, list[_Item]] = {section: [] for section in _SECTIONS}
        self.blocks: list[_Item] = []
        self.target_items: list[_Item] = []
        self.targets: dict[str, Target] = {}
        self.organization: tuple[str, frozenset[str]] | None = None
        self.prune: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ entry point
    def build(self) -> tuple[Policy | None, list[Diagnostic]]:
        self._collect()
        self._settings()
        self._targets()
        for section_items in (*self.items.values(), self.blocks):
            for item in section_items:
                item.targets = self._item_targets(item)
        self._unique_names()
        phone_numbers = {id(i): self._phone_number(i) for i in self.items["phone_numbers"]}
        pools = {id(i): self._pool(i) for i in self.items["pools"]}
        sender_ids = {id(i): self._sender_id(i) for i in self.items["sender_ids"]}
        protect = {id(i): self._protect_configuration(i) for i in self.items["protect_configurations"]}
        opt_outs = {id(i): self._opt_out_list(i) for i in self.items["opt_out_lists"]}
        shares = {id(i): self._share(i) for i in self.items["shares"]}
        config_sets = {id(i): self._configuration_set(i) for i in self.items["configuration_sets"]}
        blocks = {id(i): self._emergency_block(i) for i in self.blocks}
        self._emergency_duplicates()

        desired: dict[str, Desired] = {}
        for target_name, target in sorted(self.targets.items()):

            def pick(section: str, specs: dict[int, Any], name: str = target_name) -> list[tuple[_Item, Any]]:
                return [(i, specs[id(i)]) for i in self.items[section] if name in i.targets]

            chosen_protect = pick("protect_configurations", protect)
            chosen_sets = pick("configuration_sets", config_sets)
            chosen_protect, chosen_sets = self._associations(target_name, chosen_protect, chosen_sets)
            desired[target_name] = Desired(
                target=target,
                phone_numbers=tuple(spec for _, spec in pick("phone_numbers", phone_numbers)),
                pools=tuple(spec for _, spec in pick("pools", pools)),
                sender_ids=tuple(spec for _, spec in pick("sender_ids", sender_ids)),
                configuration_sets=tuple(spec for _, spec in chosen_sets),
                protect_configurations=tuple(spec for _, spec in chosen_protect),
                emergency_blocks=tuple(blocks[id(i)] for i in self.blocks if target_name in i.targets),
                opt_out_lists=tuple(spec for _, spec in pick("opt_out_lists", opt_outs)),
                shares=tuple(spec for _, spec in pick("shares", shares)),
                prune=self.prune,
                organization_arn=self.organization[0] if self.organization else None,
                organization_accounts=self.organization[1] if self.organization else frozenset(),
            )
            self._references(target_name)
            self._quotas(desired[target_name])
        self._external_principals()
        self._share_permissions()
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
                    item = _Item(doc, section, index, entry)
                    if section == "targets":
                        self.target_items.append(item)
                    elif section == "emergency_blocks":
                        self.blocks.append(item)
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
        by_name: dict[str, list[_Item]] = defaultdict(list)
        for item in self.target_items:
            by_name[str(item.data["name"])].append(item)
        for name, items in by_name.items():
            if len(items) > 1:
                self._duplicate_items("target", name, items)
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

    def _one_target_per_place(self, by_name: dict[str, list[_Item]]) -> None:
        """Two targets on one account and Region would each delete what the other owns, forever."""
        by_place: dict[tuple[str, str], list[_Item]] = defaultdict(list)
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

    def _quotas(self, desired: Desired) -> None:
        """The target's resource quotas (AWS's defaults, or ``targets[].quotas``) hold what the
        policy declares. Only declared resources can be counted here; configurations the policy
        does not manage count too, and the plan checks them against the live account."""
        target, quotas = desired.target, desired.target.quotas
        configurations = sorted(
            desired.protect_configurations,
            key=lambda c: (c.source.file, c.source.line, c.source.column, c.name) if c.source else ("", 0, 0, c.name),
        )
        if len(configurations) > quotas.protect_configurations:
            extra = configurations[quotas.protect_configurations]
            where = extra.source or target.source or Source(self.ctx.display_dir, 1, 1)
            self.ctx.report(
                where.file,
                Mark(where.line, where.column),
                "quota-exceeded",
                f"target {target.name!r} declares {len(configurations)} protect configurations; the account may "
                f"have {quotas.protect_configurations} in {target.region} (AWS's default is 25 per account and Region)",
                "remove protect configurations from this target, or, if AWS raised the account's quota, "
                "set quotas: {protect_configurations: N} on the target in targets.yaml",
            )
        limit = quotas.number_overrides_per_protect_configuration
        for config in configurations:
            if limit is not None and len(config.number_overrides) > limit:
                extra_override = config.number_overrides[limit]
                where = extra_override.source or config.source or Source(self.ctx.display_dir, 1, 1)
                self.ctx.report(
                    where.file,
                    Mark(where.line, where.column),
                    "quota-exceeded",
                    f"protect configuration {config.name!r} has {len(config.number_overrides)} number overrides; "
                    f"target {target.name!r} allows {limit} per protect configuration",
                    "remove number overrides, or raise quotas.number_overrides_per_protect_configuration "
                    "on the target if AWS raised it",
                )

    def _item_targets(self, item: _Item) -> frozenset[str]:
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

    def _duplicate_items(self, what: str, name: str, items: list[_Item]) -> None:
        key = "name" if items[0].section == "targets" else _key_field(items[0].section)
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
            by_key: dict[str, list[_Item]] = defaultdict(list)
            for item in items:
                by_key[_item_key(item)].append(item)
            for key, same in by_key.items():
                clashing = [a for a in same if any(b is not a and a.targets & b.targets for b in same)]
                if clashing:
                    self._duplicate_items(_SINGULAR[section], key, clashing)

    # ------------------------------------------------------------------ value checks
    def _country(self, item: _Item, mark: Mark, code: str) -> bool:
        if code in SUPPORTED:
            return True
        alias = _COUNTRY_ALIASES.get(code)
        hint = (
            f"did you mean {alias} ({country_name(alias)})?"
            if alias
            else "use an ISO 3166-1 alpha-2 code that AWS End User Messaging supports, e.g. GB, US, AU"
        )
        self.ctx.at(
            item, mark, "unknown-country", f"{code!r} is not a country AWS End User Messaging supports", hint
        )
        return False

    def _phone(
        self, item: _Item, mark: Mark, number: str, *, personal: bool, file: str | None = None
    ) -> bool:
        problem = e164_problem(number)
        if problem is None:
            return True
        shown = mask(number) if personal else number
        self.ctx.report(
            file or item.doc.file, mark, "invalid-phone-number", f"phone number {shown} {problem}", E164_HINT
        )
        return False

    # ------------------------------------------------------------------ items
    def _phone_number(self, item: _Item) -> PhoneNumberSpec:
        data = item.data
        ref = str(data["phone_number"])
        if ref.startswith("+"):
            self._phone(item, item.mark("phone_number"), ref, personal=False)
            if data.get("international_sending") is True and not ref.startswith(US_TOLL_FREE_PREFIXES):
                self.ctx.at(
                    item,
                    item.mark("international_sending"),
                    "international-sending-unsupported",
                    f"international sending applies to US toll-free numbers only, not {ref}",
                    "remove international_sending, or use a US toll-free number (+1 800/833/844/855/866/877/888)",
                )
        return PhoneNumberSpec(
            ref=ref,
            international_sending=data.get("international_sending"),
            opt_out_list=data.get("opt_out_list"),
            deletion_protection=data.get("deletion_protection"),
            source=item.source,
        )

    def _pool(self, item: _Item) -> PoolSpec:
        data = item.data
        return PoolSpec(
            ref=str(data["pool"]),
            opt_out_list=data.get("opt_out_list"),
            deletion_protection=data.get("deletion_protection"),
            source=item.source,
        )

    def _sender_id(self, item: _Item) -> SenderIdSpec:
        data = item.data
        self._country(item, item.mark("country"), str(data["country"]))
        return SenderIdSpec(
            sender_id=str(data["sender_id"]),
            country=str(data["country"]),
            deletion_protection=data.get("deletion_protection"),
            source=item.source,
        )

    def _configuration_set(self, item: _Item) -> ConfigurationSetSpec:
        return ConfigurationSetSpec(
            name=str(item.data["name"]),
            protect_configuration=item.data.get("protect_configuration"),
            source=item.source,
        )

    def _rules(self, item: _Item, capability: str, rules: YamlMap) -> CapabilityRules:
        default = cast(ProtectStatus, rules.get("default", "ALLOW"))
        countries: dict[str, ProtectStatus] = {}
        first_seen: dict[str, tuple[str, Mark]] = {}
        for status in ("ALLOW", "BLOCK", "MONITOR", "FILTER"):
            codes = rules.get(status)
            if not isinstance(codes, YamlSeq):
                continue
            for index, code in enumerate(codes):
                mark = codes.item_marks[index]
                if not self._country(item, mark, code):
                    continue
                if code in first_seen:
                    earlier_status, earlier = first_seen[code]
                    if earlier_status == status:
                        self.ctx.at(
                            item,
                            mark,
                            "protect-country-duplicate",
                            f"{capability}: {code} is listed twice under {status} (first at line {earlier.line})",
                            "remove the repeated country",
                            "warning",
                        )
                    else:
                        self.ctx.at(
                            item,
                            mark,
                            "protect-country-conflict",
                            f"{capability}: {code} ({country_name(code)}) is listed under both "
                            f"{earlier_status} (line {earlier.line}) and {status}",
                            "a country has one status per capability: keep it under one status",
                        )
                    continue
                first_seen[code] = (status, mark)
                if status == default:
                    self.ctx.at(
                        item,
                        mark,
                        "protect-country-redundant",
                        f"{capability}: {code} is listed under {status}, which is already the default",
                        "remove it: every country not listed has the default status",
                        "warning",
                    )
                    continue
                countries[code] = cast(ProtectStatus, status)
        return CapabilityRules(default=default, countries=dict(sorted(countries.items())))

    def _protect_configuration(self, item: _Item) -> ProtectConfigurationSpec:
        data = item.data
        rules: dict[Capability, CapabilityRules] = {}
        rule_map = data.get("rules")
        if isinstance(rule_map, YamlMap):
            for capability in CAPABILITIES:
                if isinstance(rule_map.get(capability), YamlMap):
                    rules[capability] = self._rules(item, capability, rule_map[capability])
        overrides: list[NumberOverrideSpec] = []
        seen: dict[str, Mark] = {}
        entries = data.get("number_overrides")
        if isinstance(entries, YamlSeq):
            for index, entry in enumerate(entries):
                mark = entries.item_marks[index]
                number = str(entry["number"])
                number_mark = entry.value_marks.get("number", mark)
                if not self._phone(item, number_mark, number, personal=True):
                    continue
                if number in seen:
                    self.ctx.at(
                        item,
                        number_mark,
                        "override-duplicate",
                        f"{mask(number)} already has an override at line {seen[number].line}",
                        "keep one override per number",
                    )
                    continue
                seen[number] = number_mark
                expires = entry.get("expires")
                if expires is not None and not _is_utc_timestamp(str(expires)):
                    self.ctx.at(
                        item,
                        entry.value_marks["expires"],
                        "invalid-timestamp",
                        f"{expires!r} is not a real date and time",
                        'write a UTC timestamp such as "2026-12-31T00:00:00Z"',
                    )
                overrides.append(
                    NumberOverrideSpec(
                        number=number,
                        action=entry["action"],
                        expires=None if expires is None else str(expires),
                        source=Source(item.doc.file, mark.line, mark.column),
                    )
                )
        return ProtectConfigurationSpec(
            name=str(data["name"]),
            rules=rules,
            account_default=bool(data.get("account_default", False)),
            deletion_protection=data.get("deletion_protection"),
            configuration_sets=tuple(sorted(str(c) for c in data.get("configuration_sets", []))),
            number_overrides=tuple(sorted(overrides, key=lambda o: o.number)),
            source=item.source,
        )

    def _opt_out_list(self, item: _Item) -> OptOutListSpec:
        data = item.data
        numbers: set[str] = set()
        inline = data.get("numbers")
        first_line: dict[str, int] = {}
        if isinstance(inline, YamlSeq):
            for index, number in enumerate(inline):
                mark = inline.item_marks[index]
                if not self._phone(item, mark, number, personal=True):
                    continue
                if number in numbers:
                    self.ctx.at(
                        item,
                        mark,
                        "opt-out-duplicate-number",
                        f"{mask(number)} is listed twice (first at line {first_line[number]})",
                        "remove the repeated number",
                        "warning",
                    )
                    continue
                numbers.add(number)
                first_line[number] = mark.line
        numbers_file = data.get("numbers_file")
        if numbers_file is not None:
            from_file = self._numbers_file(item, str(numbers_file), numbers)
            numbers = from_file | numbers if numbers else from_file
        return OptOutListSpec(
            name=str(data["name"]),
            mode=data.get("mode", "additive"),
            numbers=tuple(sorted(numbers)),
            numbers_file=None if numbers_file is None else str(numbers_file),
            source=item.source,
        )

    def _numbers_file(self, item: _Item, relative: str, inline: set[str]) -> set[str]:
        mark = item.mark("numbers_file")
        path, problem = resolve_inside(self.ctx.config_dir, relative)
        if problem is not None or path is None:
            self.ctx.at(
                item,
                mark,
                "numbers-file-escape" if problem != "missing" else "numbers-file-missing",
                f"numbers_file {relative!r} "
                + (
                    "does not exist or is not a regular file"
                    if problem == "missing"
                    else problem or "is invalid"
                ),
                "give a path relative to the configuration directory, to a file inside it"
                if problem != "missing"
                else "create the file, or fix the path (it is relative to the configuration directory)",
            )
            return set()
        display = os.path.normpath(os.path.join(self.ctx.display_dir, relative))
        if path.stat().st_size > MAX_NUMBERS_FILE_BYTES:
            self.ctx.at(
                item,
                mark,
                "file-too-large",
                f"numbers_file {relative!r} is larger than {MAX_NUMBERS_FILE_BYTES // (1024 * 1024)} MiB",
                "split the list into several opt-out lists",
            )
            return set()
        try:
            parsed = read_numbers(path, max_issues=_MAX_FILE_ISSUES)
        except UnicodeDecodeError as error:
            raw = path.read_bytes()[: error.start]
            line = raw.count(b"\n") + 1
            column = len(raw) - (raw.rfind(b"\n") + 1) + 1
            self.ctx.report(
                display,
                Mark(line, column),
                "file-not-utf8",
                "the numbers file is not valid UTF-8",
                "save the file as UTF-8",
            )
            return set()
        except OSError as error:
            self.ctx.at(
                item, mark, "file-unreadable", f"numbers_file {relative!r} cannot be read: {error.strerror}"
            )
            return set()
        for issue in parsed.issues:
            where = Mark(issue.line, issue.column)
            if issue.kind == "invalid":
                self.ctx.report(
                    display,
                    where,
                    "invalid-phone-number",
                    f"phone number {issue.text} {issue.detail}",
                    E164_HINT,
                )
            else:
                self.ctx.report(
                    display,
                    where,
                    "opt-out-duplicate-number",
                    f"{issue.text} is listed twice",
                    "remove the repeated line",
                    "warning",
                )
        hidden_invalid = parsed.invalid_count - sum(1 for i in parsed.issues if i.kind == "invalid")
        hidden_duplicates = parsed.duplicate_count - sum(1 for i in parsed.issues if i.kind == "duplicate")
        if hidden_invalid > 0:
            self.ctx.at(
                item,
                mark,
                "invalid-phone-number",
                f"{relative} has {hidden_invalid} more invalid numbers than listed "
                f"({parsed.invalid_count} in total)",
                E164_HINT,
            )
        if hidden_duplicates > 0:
            self.ctx.at(
                item,
                mark,
                "opt-out-duplicate-number",
                f"{relative} repeats {hidden_duplicates} more numbers than listed ({parsed.duplicate_count} in total)",
                "remove the repeated lines",
                "warning",
            )
        overlap = len(inline.intersection(parsed.numbers)) if inline else 0
        if overlap:
            self.ctx.at(
                item,
                mark,
                "opt-out-duplicate-number",
                f"{overlap} numbers are both inline and in {relative}",
                "keep each number in one place",
                "warning",
            )
        return parsed.numbers

    def _share(self, item: _Item) -> ShareSpec:
        data = item.data
        refs: list[ResourceRef] = []
        resources = data.get("resources")
        if isinstance(resources, YamlSeq):
            for index, entry in enumerate(resources):
                mark = resources.item_marks[index]
                for kind, value in entry.items():
                    refs.append(
                        ResourceRef(
                            kind=kind, ref=str(value), source=Source(item.doc.file, mark.line, mark.column)
                        )
                    )
        return ShareSpec(
            name=str(data["name"]),
            principals=tuple(str(p) for p in data["principals"]),
            allow_external_principals=bool(data.get("allow_external_principals", False)),
            permissions=tuple(str(p) for p in data.get("permissions", [])),
            resources=tuple(refs),
            source=item.source,
        )

    def _emergency_block(self, item: _Item) -> EmergencyBlock:
        data = item.data
        self._country(item, item.mark("country"), str(data["country"]))
        capabilities = data.get("capabilities")
        return EmergencyBlock(
            country=str(data["country"]),
            capabilities=tuple(c for c in CAPABILITIES if c in capabilities)
            if capabilities
            else CAPABILITIES,
            reason=data.get("reason"),
            source=item.source,
        )

    def _emergency_duplicates(self) -> None:
        seen: dict[tuple[str, str, str], _Item] = {}
        for item in self.blocks:
            caps = item.data.get("capabilities") or CAPABILITIES
            for target in sorted(item.targets):
                for capability in caps:
                    key = (target, str(item.data["country"]), capability)
                    first = seen.setdefault(key, item)
                    if first is not item:
                        self.ctx.at(
                            item,
                            item.mark("country"),
                            "emergency-duplicate",
                            f"{key[1]} {capability} is already blocked at line {first.data.mark.line}",
                            "remove one of the two blocks",
                            "warning",
                        )

    # ------------------------------------------------------------------ cross-item rules
    def _associations(
        self,
        target: str,
        protect: list[tuple[_Item, ProtectConfigurationSpec]],
        config_sets: list[tuple[_Item, ConfigurationSetSpec]],
    ) -> tuple[list[tuple[_Item, ProtectConfigurationSpec]], list[tuple[_Item, ConfigurationSetSpec]]]:
        """One account default; one protect configuration per configuration set, whichever side
        declares the association; and both sides of the model filled in consistently."""
        defaults = [(i, s) for i, s in protect if s.account_default]
        if len(defaults) > 1:
            for item, spec in defaults:
                others = ", ".join(f"{s.name!r} ({_where(i)})" for i, s in defaults if i is not item)
                self.ctx.at(
                    item,
                    item.mark("account_default"),
                    "account-default-conflict",
                    f"target {target}: {spec.name!r} and {others} are both the account default",
                    "an account has one default protect configuration: set account_default on one only",
                )
        owner: dict[str, tuple[str, _Item, Mark]] = {}
        for item, spec in protect:
            names = item.data.get("configuration_sets") or []
            for index, name in enumerate(names):
                mark = item.item_mark("configuration_sets", index)
                if name in owner and owner[name][0] != spec.name:
                    self.ctx.at(
                        item,
                        mark,
                        "configuration-set-conflict",
                        f"configuration set {name!r} is already associated with {owner[name][0]!r} "
                        f"({owner[name][1].doc.file}:{owner[name][2].line})",
                        "a configuration set has one protect configuration: list it under one only",
                    )
                    continue
                owner[name] = (spec.name, item, mark)
        for item, config_set in config_sets:
            wanted = config_set.protect_configuration
            if wanted is not None and config_set.name in owner and owner[config_set.name][0] != wanted:
                holder, holder_item, holder_mark = owner[config_set.name]
                self.ctx.at(
                    item,
                    item.mark("protect_configuration"),
                    "configuration-set-conflict",
                    f"configuration set {config_set.name!r} names protect configuration {wanted!r}, but "
                    f"{holder!r} lists it ({holder_item.doc.file}:{holder_mark.line})",
                    "declare the association in one place",
                )
        # Fill both sides so areas can read either one.
        by_protect: dict[str, set[str]] = defaultdict(set)
        for name, (protect_name, _, _) in owner.items():
            by_protect[protect_name].add(name)
        for _, config_set in config_sets:
            if config_set.protect_configuration is not None:
                by_protect[config_set.protect_configuration].add(config_set.name)
        new_protect = [
            (
                i,
                replace(
                    s,
                    configuration_sets=tuple(
                        sorted(by_protect.get(s.name, set()) | set(s.configuration_sets))
                    ),
                ),
            )
            for i, s in protect
        ]
        new_sets = [
            (
                i,
                s
                if s.protect_configuration is not None or s.name not in owner
                else replace(s, protect_configuration=owner[s.name][0]),
            )
            for i, s in config_sets
        ]
        return new_protect, new_sets

    def _declared(self, section: str, target: str) -> dict[str, _Item]:
        return {_item_key(i): i for i in self.items[section] if target in i.targets}

    def _unresolved(
        self, item: _Item, mark: Mark, target: str, what: str, name: str, declared: Iterable[str]
    ) -> None:
        names = sorted(declared)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"declare it under {what}"
        scope = f" for target {target}" if len(self.targets) > 1 else ""
        self.ctx.at(
            item, mark, "unresolved-reference", f"{_SINGULAR[what]} {name!r} is not declared{scope}", hint
        )

    def _references(self, target: str) -> None:
        opt_outs = self._declared("opt_out_lists", target)
        protect = self._declared("protect_configurations", target)
        config_sets = self._declared("configuration_sets", target)
        phones = self._declared("phone_numbers", target)
        pools = self._declared("pools", target)
        senders = self._declared("sender_ids", target)

        def mine(section: str) -> Iterator[_Item]:
            return (i for i in self.items[section] if target in i.targets)

        for section in ("phone_numbers", "pools"):
            for item in mine(section):
                name = item.data.get("opt_out_list")
                if name is not None and name not in opt_outs:
                    self._unresolved(item, item.mark("opt_out_list"), target, "opt_out_lists", name, opt_outs)
        for item in mine("configuration_sets"):
            name = item.data.get("protect_configuration")
            if name is not None and name not in protect:
                self._unresolved(
                    item, item.mark("protect_configuration"), target, "protect_configurations", name, protect
                )
        for item in mine("protect_configurations"):
            for index, name in enumerate(item.data.get("configuration_sets") or []):
                if name not in config_sets:
                    self._unresolved(
                        item,
                        item.item_mark("configuration_sets", index),
                        target,
                        "configuration_sets",
                        name,
                        config_sets,
                    )
        declared_by_kind = {
            "phone_number": phones,
            "pool": pools,
            "sender_id": senders,
            "opt_out_list": opt_outs,
        }
        section_by_kind = {
            "phone_number": "phone_numbers",
            "pool": "pools",
            "sender_id": "sender_ids",
            "opt_out_list": "opt_out_lists",
        }
        for item in mine("shares"):
            resources = item.data.get("resources") or YamlSeq(item.data.mark)
            shared: set[tuple[str, str]] = set()
            for entry in resources:
                shared.update((kind, str(value)) for kind, value in entry.items())
            for index, entry in enumerate(resources):
                for kind, value in entry.items():
                    mark = resources.item_marks[index]
                    if value not in declared_by_kind[kind]:
                        self._unresolved(
                            item, mark, target, section_by_kind[kind], value, declared_by_kind[kind]
                        )
                    elif kind == "opt_out_list":
                        self._share_members(item, mark, target, value, shared)
        total = len(opt_outs) + (0 if DEFAULT_OPT_OUT_LIST in opt_outs else 1)
        if total > MAX_OPT_OUT_LISTS:
            extra = sorted(opt_outs.values(), key=lambda i: (i.doc.file, i.data.mark))[-1]
            self.ctx.at(
                extra,
                extra.mark("name"),
                "opt-out-list-limit",
                f"target {target} would have {total} opt-out lists (the Default list included); "
                f"an account may have {MAX_OPT_OUT_LISTS}",
                "merge lists, or request a quota increase and keep this many only after it is granted",
            )

    def _share_members(
        self, item: _Item, mark: Mark, target: str, opt_out: str, shared: set[tuple[str, str]]
    ) -> None:
        """The seed's rule: a shared opt-out list works only if every identity using it is shared too.
        Identities whose opt-out list the policy sets are known here; pool membership is live state,
        checked by the engine when it plans the share."""
        missing: list[str] = []
        for section, kind in (("phone_numbers", "phone_number"), ("pools", "pool")):
            for member in self.items[section]:
                if target in member.targets and member.data.get("opt_out_list") == opt_out:
                    ref = _item_key(member)
                    if (kind, ref) not in shared:
                        missing.append(f"{{{kind}: {ref!r}}}")
        if missing:
            self.ctx.at(
                item,
                mark,
                "share-incomplete",
                f"share {item.data['name']!r} shares opt-out list {opt_out!r} without its members "
                f"{', '.join(sorted(missing))}",
                f"a shared opt-out list works only when every identity using it is in the same share: add {', '.join(sorted(missing))} to resources",
            )

    def _external_principals(self) -> None:
        """Principals outside the organization need ``allow_external_principals: true``.

        With ``organization`` declared the rule is checked offline: org and OU ARNs must carry its
        id, account ids must be targets or listed under ``organization.accounts``. Without it the
        policy cannot tell inside from outside (RAM itself refuses external principals of a share
        that does not allow them), so unverifiable principals are a warning, not an error.
        """
        org_id = self.organization[0].rsplit("/", 1)[-1] if self.organization else None
        target_accounts = {t.account_id for t in self.targets.values()}
        members = target_accounts | (self.organization[1] if self.organization else set())
        for item in self.items["shares"]:
            if item.data.get("allow_external_principals") is True:
                continue
            for index, principal in enumerate(item.data["principals"]):
                principal = str(principal)
                mark = item.item_mark("principals", index)
                name = item.data["name"]
                if org_id is None:
                    if principal not in target_accounts:
                        self.ctx.at(
                            item,
                            mark,
                            "share-principal-unverified",
                            f"share {name!r} shares with {principal}; with no organization declared the "
                            "policy cannot check that it is inside the organization",
                            "declare 'organization: {arn: ..., accounts: [...]}', or set "
                            "allow_external_principals: true if it is meant to be external",
                            "warning",
                        )
                    continue
                if principal.isdigit():
                    inside = principal in members
                else:
                    inside = principal.endswith(f":organization/{org_id}") or f":ou/{org_id}/" in principal
                if inside:
                    continue
                self.ctx.at(
                    item,
                    mark,
                    "share-external-principal",
                    f"share {name!r} shares with {principal}, but it is outside organization {org_id}",
                    "set allow_external_principals: true to share outside the organization"
                    + (", or list the account under organization.accounts" if principal.isdigit() else ""),
                )

    def _share_permissions(self) -> None:
        """Each listed permission is the AWS managed one of an sms-voice resource type, at most one
        per type (RAM: "You can associate only one permission with each resource type")."""
        names = ", ".join(SHARE_PERMISSIONS)
        for item in self.items["shares"]:
            kinds: dict[str, str] = {}
            for index, permission in enumerate(item.data.get("permissions") or []):
                text = str(permission)
                name = text[len(PERMISSION_ARN_PREFIX):] if text.startswith(PERMISSION_ARN_PREFIX) else text
                kind = SHARE_PERMISSIONS.get(name)
                mark = item.item_mark("permissions", index)
                if kind is None:
                    self.ctx.at(
                        item, mark, "share-permission-unknown",
                        f"share {item.data['name']!r}: {text} is not the AWS managed permission of an sms-voice "
                        "resource type (customer managed permissions are not supported: the reconciler could "
                        "not tell which resource type they are for)",
                        f"use one of {names}, or leave permissions out to get each type's default",
                    )
                elif kind in kinds:
                    self.ctx.at(
                        item, mark, "share-permission-duplicate",
                        f"share {item.data['name']!r} lists two permissions for {kind.replace('_', ' ')}s "
                        f"({kinds[kind]}, {text}); RAM allows one per resource type",
                        "keep one",
                    )
                else:
                    kinds[kind] = text


def _target_quotas(item: _Item) -> TargetQuotas:
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


def _is_utc_timestamp(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


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
