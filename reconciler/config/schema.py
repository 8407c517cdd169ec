"""JSON Schema layer: the schemas in ``schemas/`` are the single source of the policy's structure.

Every jsonschema error becomes a :class:`Diagnostic` at the offending key's (or value's) position,
with a hint: the closest known key for a typo, how to quote a bare number, the expected format.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from reconciler.config.diagnostics import Diagnostic
from reconciler.config.numbers import mask, mask_phone_like
from reconciler.config.yaml_loader import Mark, YamlInt, YamlMap, YamlSeq, position_of


@cache
def _file_kinds() -> tuple[dict[str, str], dict[str, str]]:
    """File stem -> schema kind, and key -> where it belongs, as the areas declare them."""
    from reconciler.config.semantic import policy_sections  # areas import this package

    stems: dict[str, str] = {}
    misplaced: dict[str, str] = {}
    for section in policy_sections():
        stems.update(section.file_stems)
        misplaced.update(section.misplaced_keys)
    return stems, misplaced


def schema_names() -> tuple[str, ...]:
    """Every schema kind: ``policy`` and the file kinds the areas declare, sorted."""
    return tuple(sorted({"policy", *_file_kinds()[0].values()}))


def schema_dir() -> Path:
    """The repository's ``schemas/`` (editable installs and checkouts), else the packaged copy."""
    repo = Path(__file__).resolve().parent.parent.parent / "schemas"
    if (repo / "policy.schema.json").is_file():
        return repo
    return Path(str(resources.files("reconciler") / "schemas"))


def schema_path(name: str) -> Path:
    return schema_dir() / f"{name}.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_name_for(file_name: str) -> str:
    """A file whose stem an area declares (``emergency.yaml``) has that area's schema; every other
    file is a policy file."""
    return _file_kinds()[0].get(Path(file_name).stem, "policy")


def dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "(top level)"


def _describe(value: Any, personal: bool = False) -> str:
    """``value`` in words; a value of a personal field (``x-personal``: an opted-out or override
    number) is masked whatever its shape, since a mistyped number is as personal as a valid one."""
    if personal and isinstance(value, YamlInt):
        return f"the number {mask(value.text)}"
    if personal and isinstance(value, str):
        return f"the text {mask(value)!r}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, YamlInt):
        return f"the number {value.text}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "string": "text",
    "array": "a list",
    "object": "a mapping",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "nothing",
}


class _Reporter:
    def __init__(self, file: str, root: Any, schema_name: str) -> None:
        self.file = file
        self.root = root
        self.schema_name = schema_name
        self.found: list[Diagnostic] = []

    def add(self, mark: Mark, code: str, message: str, hint: str | None) -> None:
        self.found.append(Diagnostic(self.file, mark.line, mark.column, code, "error", message, hint))

    def error(self, error: ValidationError) -> None:
        path = tuple(error.absolute_path)
        where = dotted(path)
        kind = error.validator
        schema = error.schema if isinstance(error.schema, dict) else {}
        instance = error.instance
        personal = bool(schema.get("x-personal"))
        if kind == "additionalProperties" and isinstance(instance, YamlMap):
            self.unknown_keys(path, instance, schema)
        elif kind == "required" and isinstance(instance, dict):
            for key in error.validator_value:
                if key not in instance:
                    self.add(
                        position_of(self.root, path),
                        "schema-missing-key",
                        f"{where}: missing required key {key!r}",
                        f"add '{key}:'",
                    )
        elif kind == "type":
            self.type_error(path, instance, error.validator_value, personal)
        elif kind == "enum":
            allowed = [str(v) for v in error.validator_value]
            close = difflib.get_close_matches(str(instance).upper(), [a.upper() for a in allowed], n=1)
            match = next((a for a in allowed if close and a.upper() == close[0]), None)
            self.add(
                position_of(self.root, path),
                "schema-enum",
                f"{where}: {_describe(instance, personal)} is not one of {', '.join(allowed)}",
                f"did you mean {match}?" if match else f"use one of {', '.join(allowed)}",
            )
        elif kind == "pattern":
            self.add(
                position_of(self.root, path),
                "schema-pattern",
                f"{where}: {_describe(instance, personal)} has the wrong format",
                schema.get("x-hint") or f"it must match {error.validator_value}",
            )
        elif kind in {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}:
            message, hint = self.size_message(error)
            self.add(position_of(self.root, path), "schema-size", f"{where}: {message}", hint)
        elif kind == "uniqueItems" and isinstance(instance, YamlSeq):
            self.duplicate_item(path, instance)
        else:
            self.add(position_of(self.root, path), "schema-invalid", f"{where}: {error.message}", None)

    def size_message(self, error: ValidationError) -> tuple[str, str]:
        limit = error.validator_value
        kind = str(error.validator)
        if kind == "maxProperties" and limit == 1:
            keys = ", ".join(sorted(error.instance))
            return (
                f"has several keys ({keys})",
                "give one resource per list item: split it into one item per key",
            )
        if kind == "minProperties" and limit == 1:
            names = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
            listed = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else "".join(names)
            return "is empty", f"give one key: {listed}" if listed else "give one key"
        unit = {"Items": "item", "Length": "character", "Properties": "key"}[kind[3:]]
        bound = "at least" if kind.startswith("min") else "at most"
        hint = "add to it, or remove the key" if kind.startswith("min") else "shorten it"
        return f"must have {bound} {limit} {unit}{'' if limit == 1 else 's'}", hint

    def unknown_keys(self, path: tuple[Any, ...], instance: YamlMap, schema: dict[str, Any]) -> None:
        known = sorted(schema.get("properties", {}))
        for key in instance:
            if key in known:
                continue
            hint: str | None
            stems, misplaced = _file_kinds()
            if key in misplaced and self.schema_name == "policy":
                hint = misplaced[key]
            elif not path and self.schema_name != "policy":
                stem = next((s for s, k in sorted(stems.items()) if k == self.schema_name), self.schema_name)
                hint = f"{stem}.yaml holds only {', '.join(known)}; put other sections in another file"
            else:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            self.add(
                position_of(self.root, (*path, key), key=True),
                "schema-unknown-key",
                f"{dotted(path)}: unknown key {key!r}",
                hint,
            )

    def type_error(self, path: tuple[Any, ...], instance: Any, expected: Any, personal: bool) -> None:
        types = [expected] if isinstance(expected, str) else list(expected)
        where = dotted(path)
        mark = position_of(self.root, path)
        if "string" in types and isinstance(instance, YamlInt):
            written = mask(instance.text) if personal else instance.text
            # A phone number is masked in the message (see Diagnostic): the hint shows the shape.
            phone = personal or mask_phone_like(written) != written
            self.add(
                mark,
                "unquoted-number",
                f"{where}: {written} must be quoted text, not a bare number",
                ('write it in double quotes, like "+12065550100"' if phone else f'quote it: "{written}"')
                + " (YAML would otherwise read it as a number"
                + (" and drop its leading zeros)" if instance.text.lstrip("+-").startswith("0") else ")"),
            )
            return
        hint: str | None = None
        if (
            "boolean" in types
            and isinstance(instance, str)
            and instance.lower() in {"yes", "no", "on", "off", "y", "n"}
        ):
            hint = "write true or false (yes/no/on/off are plain text in policy files)"
        elif instance is None:
            hint = "give it a value, or remove the key"
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        self.add(mark, "schema-type", f"{where}: expected {wanted}, found {_describe(instance, personal)}", hint)

    def duplicate_item(self, path: tuple[Any, ...], instance: YamlSeq) -> None:
        seen: list[Any] = []
        for index, item in enumerate(instance):
            if item in seen:
                first = seen.index(item)
                self.add(
                    position_of(self.root, (*path, index)),
                    "schema-duplicate-item",
                    f"{dotted(path)}: {_describe(item)} is listed twice (first at item {first + 1})",
                    "remove the repeated item",
                )
            seen.append(item)


def validate_document(file: str, data: Any, schema_name: str) -> list[Diagnostic]:
    """Every structural problem of one loaded file, each at its own position."""
    reporter = _Reporter(file, data, schema_name)
    for error in _validator(schema_name).iter_errors(data):
        reporter.error(error)
    return reporter.found
