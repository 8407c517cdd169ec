"""Server-side request validation against botocore's service model.

Every request of every service is checked here before a handler runs, whatever client sent it
(botocore's own client-side validation can be switched off, and the AWS CLI or another SDK may
send anything). Checked: required members, unknown members, types, string length and pattern,
enums, numeric ranges, list and map lengths. Messages follow AWS's own wording
("Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or
equal to 100"); each protocol turns the issues into its own error (see protocols.py).

Values may be wire JSON (numbers for timestamps, base64 strings for blobs) or botocore-shaped
Python values (``datetime``, ``bytes``); both are accepted for those two types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

MISSING = "missing"
UNKNOWN = "unknown"
CONSTRAINT = "constraint"
TYPE = "type"


@dataclass(frozen=True)
class Issue:
    """One validation failure: ``path`` like ``Filters[0].Name``, ``kind`` one of the constants above."""

    path: str
    message: str
    kind: str


@lru_cache(maxsize=2048)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    # Model patterns are Java regular expressions; the few Python cannot compile are skipped
    # rather than guessed at (their length and enum limits still apply).
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def _show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _fail(issues: list[Issue], path: str, value: Any, rule: str) -> None:
    issues.append(
        Issue(path, f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: {rule}", CONSTRAINT)
    )


def validate(shape: Shape | None, value: Any) -> list[Issue]:
    """All issues of ``value`` (a request's input members) against the operation's input shape."""
    issues: list[Issue] = []
    if shape is None:
        if value:
            for name in sorted(value):
                issues.append(Issue(name, f"Unknown member '{name}': the operation takes no input", UNKNOWN))
        return issues
    _check(shape, value if value is not None else {}, "", issues)
    return issues


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check(shape: Shape, value: Any, path: str, issues: list[Issue]) -> None:
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, path, issues)  # type: ignore[arg-type]
    elif kind == "list":
        _check_list(shape, value, path, issues)  # type: ignore[arg-type]
    elif kind == "map":
        _check_map(shape, value, path, issues)  # type: ignore[arg-type]
    elif kind == "string":
        _check_string(shape, value, path, issues)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            issues.append(Issue(path, f"Value '{_show(value)}' at '{path}' is not an integer", TYPE))
            return
        _check_range(shape, value, path, issues)
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            issues.append(Issue(path, f"Value '{_show(value)}' at '{path}' is not a number", TYPE))
            return
        _check_range(shape, value, path, issues)
    elif kind == "boolean":
        if not isinstance(value, bool):
            issues.append(Issue(path, f"Value '{_show(value)}' at '{path}' is not a boolean", TYPE))
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str | datetime):
            issues.append(Issue(path, f"Value '{_show(value)}' at '{path}' is not a timestamp", TYPE))
    elif kind == "blob":
        if not isinstance(value, str | bytes | bytearray):
            issues.append(Issue(path, f"Value at '{path}' is not a blob", TYPE))
        else:
            _check_length(shape, value, path, issues)


def _check_structure(shape: StructureShape, value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, dict):
        issues.append(Issue(path, f"Value at '{path}' must be a structure", TYPE))
        return
    for name in shape.required_members:
        if value.get(name) is None:
            member_path = _join(path, name)
            issues.append(
                Issue(
                    member_path,
                    f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null",
                    MISSING,
                )
            )
    members = shape.members
    for name in value:
        if name not in members:
            member_path = _join(path, name)
            issues.append(Issue(member_path, f"Unknown member '{member_path}'", UNKNOWN))
    for name, member in members.items():
        if name in value and value[name] is not None:
            _check(member, value[name], _join(path, name), issues)


def _check_length(shape: Shape, value: Any, path: str, issues: list[Issue]) -> None:
    meta = shape.metadata
    size = len(value)
    if "min" in meta and size < meta["min"]:
        _fail(issues, path, value, f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        _fail(issues, path, value, f"Member must have length less than or equal to {meta['max']}")


def _check_range(shape: Shape, value: float, path: str, issues: list[Issue]) -> None:
    meta = shape.metadata
    if "min" in meta and value < meta["min"]:
        _fail(issues, path, value, f"Member must have value greater than or equal to {meta['min']}")
    if "max" in meta and value > meta["max"]:
        _fail(issues, path, value, f"Member must have value less than or equal to {meta['max']}")


def _check_string(shape: Shape, value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, str):
        issues.append(Issue(path, f"Value '{_show(value)}' at '{path}' is not a string", TYPE))
        return
    _check_length(shape, value, path, issues)
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        _fail(issues, path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        return
    pattern = shape.metadata.get("pattern")
    if pattern:
        compiled = _compiled(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            _fail(issues, path, value, f"Member must satisfy regular expression pattern: {pattern}")


def _check_list(shape: ListShape, value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, list):
        issues.append(Issue(path, f"Value at '{path}' must be a list", TYPE))
        return
    _check_length(shape, value, path, issues)
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if item is None:
            issues.append(
                Issue(
                    item_path,
                    f"Value null at '{item_path}' failed to satisfy constraint: Member must not be null",
                    MISSING,
                )
            )
        else:
            _check(shape.member, item, item_path, issues)


def _check_map(shape: MapShape, value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, dict):
        issues.append(Issue(path, f"Value at '{path}' must be a map", TYPE))
        return
    _check_length(shape, value, path, issues)
    for key, item in value.items():
        _check(shape.key, key, f"{path}.{key}(key)", issues)
        _check(shape.value, item, f"{path}.{key}", issues)


def summary(issues: list[Issue]) -> str:
    """AWS's one-line summary: ``2 validation errors detected: ...; ...``."""
    count = len(issues)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(issue.message for issue in issues)
