"""The JSON Schemas: valid draft 2020-12, self-describing, and their examples are valid policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.config.schema import load_schema, schema_dir, schema_names

REPO = Path(__file__).resolve().parents[2]


def test_schemas_come_from_the_repository() -> None:
    assert schema_dir() == REPO / "schemas"
    # The policy files' schemas, and the plan document's (reconciler.report.plan_input).
    assert sorted(p.name for p in schema_dir().glob("*.schema.json")) == sorted(
        [*(f"{n}.schema.json" for n in schema_names()), "plan.schema.json"]
    )


def test_the_plan_schema_is_valid_and_documented() -> None:
    schema = json.loads((schema_dir() / "plan.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["description"] and schema["title"]
    assert all(definition.get("description") for definition in schema["$defs"].values())
    assert _undocumented_properties(schema) == []


@pytest.mark.parametrize("name", schema_names())
def test_schema_is_valid_and_documented(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["description"] and schema["title"]
    for key, definition in schema.get("$defs", {}).items():
        assert definition.get("description"), key
    assert _undocumented_properties(schema) == []


def _undocumented_properties(node: Any, path: str = "#") -> list[str]:
    """Editors show descriptions on hover: every property of every object must have one."""
    missing: list[str] = []
    if isinstance(node, dict):
        for key, value in (node.get("properties") or {}).items():
            if isinstance(value, dict) and not value.get("description"):
                missing.append(f"{path}/properties/{key}")
        for key, value in node.items():
            missing.extend(_undocumented_properties(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            missing.extend(_undocumented_properties(value, f"{path}/{index}"))
    return missing


def _examples(node: Any, path: str = "#") -> list[tuple[str, Any, Any]]:
    found: list[tuple[str, Any, Any]] = []
    if isinstance(node, dict):
        for example in node.get("examples", []):
            found.append((path, node, example))
        for key, value in node.items():
            if key != "examples":
                found.extend(_examples(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_examples(value, f"{path}/{index}"))
    return found


@pytest.mark.parametrize("name", schema_names())
def test_every_example_matches_its_own_schema(name: str) -> None:
    schema = load_schema(name)
    examples = _examples(schema)
    assert len(examples) >= 5
    for path, node, example in examples:
        sub = {**node, "$defs": schema.get("$defs", {})}
        errors = list(Draft202012Validator(sub).iter_errors(example))
        assert errors == [], f"{path}: {json.dumps(example)}: {errors[0].message}"


def test_installed_packages_carry_the_same_schemas() -> None:
    """``reconciler/schemas`` links to ``schemas/`` so wheels ship the one source (package-data)."""
    packaged = REPO / "reconciler" / "schemas"
    for name in schema_names():
        assert (packaged / f"{name}.schema.json").read_bytes() == (REPO / "schemas" / f"{name}.schema.json").read_bytes()


@pytest.mark.parametrize("path", sorted((REPO / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_example_files_name_their_schema_for_editors(path: Path) -> None:
    """The first line is the YAML language server's modeline, pointing at this file's schema."""
    from reconciler.config.schema import schema_name_for

    first = path.read_text(encoding="utf-8").splitlines()[0]
    expected = f"# yaml-language-server: $schema=../schemas/{schema_name_for(path.name)}.schema.json"
    assert first == expected
    assert (path.parent / first.split("=", 1)[1]).resolve().is_file()


def test_committed_schemas_are_generated_from_the_areas_fragments() -> None:
    """schemas/*.schema.json are what `reconciler schema --write` makes of the areas' fragments."""
    from reconciler.config.schema_build import generated

    files = generated()
    assert sorted(files) == sorted(f"{n}.schema.json" for n in schema_names())
    stale = [name for name, text in files.items() if (schema_dir() / name).read_text(encoding="utf-8") != text]
    assert stale == [], f"run `reconciler schema --write` and commit: {stale} differ from the areas' fragments"


def test_schema_generation_refuses_two_areas_defining_one_key() -> None:
    from reconciler.config.schema_build import build
    from reconciler.config.section import PolicySection

    one = PolicySection("one", (), schema={"policy": {"properties": {"things": {"type": "array"}}}})
    two = PolicySection("two", (), schema={"policy": {"properties": {"things": {"type": "object"}}}})
    with pytest.raises(ValueError, match="area two redefines properties things"):
        build([one, two])
