"""Diagnostics: what is wrong, where (file:line:col), and how to fix it; plus their output formats.

Every check in the policy loader returns diagnostics instead of raising, so one run reports every
mistake. Codes are stable slugs (documented in docs/policy.md) so tools and tests can rely on them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from reconciler.config.numbers import mask_phone_like

Severity = Literal["error", "warning"]

# Every code the generic policy loader can report, with a one-line title (used in the
# documentation table); each area declares its own codes (PolicySection.codes), and
# ``reconciler.config.CODES`` is the union of both.
CODES: dict[str, str] = {
    # Files and YAML
    "config-dir": "the configuration directory cannot be used",
    "file-unreadable": "a policy file cannot be read",
    "file-too-large": "a file exceeds the size limit",
    "file-not-utf8": "a file is not valid UTF-8",
    "yaml-syntax": "YAML syntax error",
    "yaml-tab": "tab character used for indentation",
    "yaml-duplicate-key": "the same key appears twice in one mapping",
    "yaml-alias-limit": "YAML aliases or merge keys expand beyond the limit",
    "yaml-too-deep": "YAML nesting is too deep",
    "yaml-unsupported-tag": "an explicit YAML tag is not supported",
    "yaml-complex-key": "a mapping key is not a plain scalar",
    "yaml-multiple-documents": "a policy file holds more than one YAML document",
    "unquoted-number": "a value that must be text was written as a bare number",
    # Structure (JSON Schema)
    "schema-unknown-key": "a key the language does not know",
    "schema-missing-key": "a required key is missing",
    "schema-type": "a value has the wrong type",
    "schema-enum": "a value is not one of the allowed values",
    "schema-pattern": "a value has the wrong format",
    "schema-size": "a list, mapping or text is too short or too long",
    "schema-duplicate-item": "a list holds the same item twice",
    "schema-invalid": "a value does not match the schema",
    # Meaning
    "no-targets": "the policy declares no targets",
    "duplicate-name": "two items of the same kind share a name for one target",
    "duplicate-setting": "a policy-wide setting is declared in more than one file",
    "unknown-target": "an item names a target that is not declared",
    "unknown-region": "a region where AWS End User Messaging SMS is not available",
    "unresolved-reference": "a reference to an item the policy does not declare",
    "unknown-country": "a country code that is not an ISO 3166-1 alpha-2 code AWS supports",
    "invalid-phone-number": "a phone number that is not valid E.164",
}


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int  # 1-based; 1 for whole-file problems
    column: int  # 1-based
    code: str
    severity: Severity
    message: str
    hint: str | None = None

    def __post_init__(self) -> None:
        # Messages echo what the user wrote, and a mistyped opted-out number is personal data
        # however it is written: whatever looks like a phone number is masked, in every format.
        # Hints are the product's own advice (example numbers, names of declared items); the one
        # hint that would echo a written value, for an unquoted number, masks it itself.
        object.__setattr__(self, "message", mask_phone_like(self.message))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    return (d.file, d.line, d.column, d.code, d.message)


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Deterministic order without repeats: by file, line, column, code."""
    return sorted(set(diagnostics), key=sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def format_text(diagnostics: Iterable[Diagnostic]) -> str:
    """``path:line:col: error[CODE]: message`` then ``  hint: ...``; one blank-free block per item."""
    lines: list[str] = []
    for d in sorted_diagnostics(diagnostics):
        lines.append(f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}")
        if d.hint:
            lines.append(f"  hint: {d.hint}")
    return "\n".join(lines) + ("\n" if lines else "")


def _escape_github_data(text: str) -> str:
    # GitHub's workflow-command escaping for the message part.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_github_property(text: str) -> str:
    return _escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions annotations: ``::error file=…,line=…,col=…,title=CODE::message``."""
    lines: list[str] = []
    for d in sorted_diagnostics(diagnostics):
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        props = ",".join(
            [
                f"file={_escape_github_property(d.file)}",
                f"line={d.line}",
                f"col={d.column}",
                f"title={_escape_github_property(d.code)}",
            ]
        )
        lines.append(f"::{d.severity} {props}::{_escape_github_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    """A JSON document for tools: counts and the sorted list of diagnostics."""
    items = sorted_diagnostics(diagnostics)
    document = {
        "errors": sum(1 for d in items if d.is_error),
        "warnings": sum(1 for d in items if not d.is_error),
        "diagnostics": [asdict(d) for d in items],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
