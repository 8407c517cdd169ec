"""``schemas/*.schema.json`` generated from the areas' schema fragments.

The generic skeleton (targets, organization, prune) is ``policy.base.schema.json`` beside this
module; each area's ``reconciler/areas/<area>/schema.json`` maps a schema kind to what it adds:
``{"policy": {"properties": {...}, "$defs": {...}}}`` merges into the policy files' schema, and a
kind only that area declares with a whole schema (e.g. ``"emergency": {...}``) is a file kind of its
own. ``reconciler schema --write`` writes the result; a test checks the committed files are current
(editors read them through the ``$schema``/yaml-language-server comments of the policy files).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from reconciler.config.section import PolicySection

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE = Path(__file__).with_name("policy.base.schema.json")


def fragment(path: Path) -> dict[str, dict[str, Any]]:
    """An area's schema fragment file (its package's ``schema.json``)."""
    loaded: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def build(sections: list[PolicySection]) -> dict[str, dict[str, Any]]:
    """Schema kind -> the whole JSON Schema, from the skeleton and every area's fragments."""
    policy: dict[str, Any] = json.loads(BASE.read_text(encoding="utf-8"))
    policy["properties"]["prune"]["items"]["enum"] = [section.area for section in sections]
    schemas: dict[str, dict[str, Any]] = {"policy": policy}
    for section in sections:
        for kind, part in section.schema.items():
            if kind == "policy":
                for key in ("properties", "$defs"):
                    clash = sorted(set(policy[key]) & set(part.get(key, {})))
                    if clash:
                        raise ValueError(f"area {section.area} redefines {key} {', '.join(clash)}")
                    policy[key].update(copy.deepcopy(dict(part.get(key, {}))))
            elif kind in schemas:
                raise ValueError(f"area {section.area} declares schema kind {kind!r} a second time")
            else:
                schemas[kind] = {"$schema": JSON_SCHEMA_DIALECT, **copy.deepcopy(dict(part))}
    return dict(sorted(schemas.items()))


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[str, str]:
    """File name -> content of every generated schema file."""
    from reconciler.config.semantic import policy_sections

    return {f"{kind}.schema.json": render(schema) for kind, schema in build(policy_sections()).items()}


def write(directory: Path) -> list[Path]:
    """Write the generated schemas into ``directory``; the files that changed."""
    changed = []
    for name, text in generated().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
