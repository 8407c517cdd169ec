"""``config/guardrails.yaml`` -> :class:`Guardrails`, or every problem at file:line:col.

The same layers as the policy (reconciler.config.loader): file, YAML, JSON Schema
(``schemas/guardrails.schema.json``), then meaning: list names that exist, countries AWS knows,
filters that apply to the rule's effect, unique rule names, declared targets.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reconciler.config.diagnostics import Diagnostic, has_errors, sorted_diagnostics
from reconciler.config.schema import validate_document
from reconciler.config.yaml_loader import MAX_YAML_BYTES, Mark, YamlMap, parse_bytes, position_of
from reconciler.countries import SUPPORTED
from reconciler.guardrails.model import FILTERS, Guardrails, Rule

FILE_NAME = "guardrails.yaml"
SCHEMA = "guardrails"
# The codes of the meaning checks (structure uses the policy's schema-* codes, docs/policy.md).
CODES: dict[str, str] = {
    "unknown-country": "a country list holds a code that is not an ISO 3166-1 alpha-2 code AWS supports",
    "guardrail-duplicate-rule": "two guardrail rules share a name",
    "guardrail-unknown-list": "a rule names a country list that country_lists does not declare",
    "guardrail-filter-not-applicable": "a rule filters on something its effect does not have",
    "guardrail-unknown-target": "a rule names a target the policy does not declare",
}


def guardrails_path(config_dir: str | Path) -> Path:
    return Path(config_dir) / FILE_NAME


class _Checker:
    def __init__(self, file: str, root: YamlMap, targets: Iterable[str] | None) -> None:
        self.file = file
        self.root = root
        self.targets = None if targets is None else sorted(targets)
        self.found: list[Diagnostic] = []

    def error(self, path: tuple[Any, ...], code: str, message: str, hint: str | None, key: bool = False) -> None:
        mark: Mark = position_of(self.root, path, key=key)
        self.found.append(Diagnostic(self.file, mark.line, mark.column, code, "error", message, hint))

    def lists(self) -> dict[str, frozenset[str]]:
        lists: dict[str, frozenset[str]] = {}
        for name, codes in (self.root.get("country_lists") or {}).items():
            for index, code in enumerate(codes):
                if code not in SUPPORTED:
                    self.error(("country_lists", name, index), "unknown-country",
                               f"country_lists.{name}[{index}]: {code!r} is not an ISO 3166-1 alpha-2 code AWS supports",
                               "use the country's ISO code (GB, not UK)")
            lists[name] = frozenset(codes)
        return lists

    def rules(self, lists: dict[str, frozenset[str]]) -> tuple[Rule, ...]:
        rules: list[Rule] = []
        first: dict[str, int] = {}
        for index, item in enumerate(self.root["rules"]):
            where = f"rules[{index}]"
            name = str(item["name"])
            if name in first:
                self.error(("rules", index, "name"), "guardrail-duplicate-rule",
                           f"{where}.name: rule {name!r} is already declared (rules[{first[name]}])",
                           "give each rule its own name: it names the rule's commit status")
            first.setdefault(name, index)
            when = item["when"]
            effect = str(when["effect"])
            for key in sorted(set(when) & {"capability", "countries_in"} - FILTERS[effect]):
                self.error(("rules", index, "when", key), "guardrail-filter-not-applicable",
                           f"{where}.when.{key}: the effect {effect} has no {key.replace('_in', '')}",
                           "remove it, or choose a country effect (countries_…)" if key == "capability"
                           else "remove it, or choose a country or override effect", key=True)
            list_name = when.get("countries_in")
            if list_name is not None and list_name not in lists:
                close = difflib.get_close_matches(list_name, sorted(lists), n=1)
                self.error(("rules", index, "when", "countries_in"), "guardrail-unknown-list",
                           f"{where}.when.countries_in: no country list {list_name!r}",
                           f"did you mean {close[0]!r}?" if close else
                           f"declare it under country_lists (declared: {', '.join(sorted(lists)) or 'none'})")
            targets = when.get("targets")
            if targets is not None and self.targets is not None:
                for t_index, target in enumerate(targets):
                    if target not in self.targets:
                        self.error(("rules", index, "when", "targets", t_index), "guardrail-unknown-target",
                                   f"{where}.when.targets[{t_index}]: the policy declares no target {target!r}",
                                   f"declared targets: {', '.join(self.targets)}")
            verdict = item["verdict"]
            approver = verdict["needs-approval"] if isinstance(verdict, dict) else None
            rules.append(Rule(
                name=name, effect=effect, verdict="needs-approval" if approver else verdict, approver=approver,
                description=str(item.get("description") or ""),
                capabilities=frozenset(when["capability"]) if "capability" in when else None,
                countries=lists.get(list_name) if list_name is not None else None, countries_in=list_name,
                targets=frozenset(targets) if targets is not None else None, more_than=int(when.get("more_than", 0)),
            ))
        return tuple(rules)


def load_guardrails(path: str | Path, targets: Iterable[str] | None = None) -> tuple[Guardrails | None, list[Diagnostic]]:
    """Load and check ``path``; ``targets``: the policy's targets, when known, to check rules' names.

    Never raises for user mistakes: ``(None, diagnostics)`` when any error was found.
    """
    file = os.path.normpath(str(path))

    def fail(code: str, message: str, hint: str | None) -> tuple[None, list[Diagnostic]]:
        return None, [Diagnostic(file, 1, 1, code, "error", message, hint)]

    try:
        size = Path(path).stat().st_size
        if size > MAX_YAML_BYTES:
            return fail("file-too-large", f"the file is {size} bytes; guardrails may be at most {MAX_YAML_BYTES} bytes",
                        "keep long country lists short: group them by risk")
        raw = Path(path).read_bytes()
    except OSError as error:
        return fail("file-unreadable", f"cannot read the guardrails: {error.strerror}",
                    "create it (reconciler init writes an example) or pass --guardrails FILE")
    loaded, problems = parse_bytes(file, raw)
    if loaded is None:
        return None, problems
    if loaded.data is None:
        return fail("schema-missing-key", "the guardrails file is empty", "declare at least one rule under 'rules:'")
    problems = validate_document(file, loaded.data, SCHEMA)
    if problems or not isinstance(loaded.data, YamlMap):
        return None, sorted_diagnostics(problems)
    checker = _Checker(file, loaded.data, targets)
    rules = checker.rules(checker.lists())
    if has_errors(checker.found):
        return None, sorted_diagnostics(checker.found)
    return Guardrails(rules, file), []
