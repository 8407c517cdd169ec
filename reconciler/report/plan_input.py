"""Reading plan JSON back: bounded, validated against ``schemas/plan.schema.json``, then parsed.

Saved plans (``apply PLANFILE``), the plans ``github render`` turns into comments, and above all
the plan an untrusted fork's workflow uploads are data from outside the process: each is read
with a size limit and checked against the schema before any field is used, so a wrong type (a
``key`` that is an object) is one clear error naming where, not a traceback halfway through.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from reconciler.cli import UserError
from reconciler.config.schema import schema_dir
from reconciler.files import MiB, read_limited
from reconciler.plan import Plan
from reconciler.report.escape import terminal

# A saved plan of 250,000 changes (a quarter of a million-number list) is about 120 MiB.
MAX_PLAN_BYTES = 128 * MiB
# What a fork may hand the trusted workflow: far more than any pull request's comment shows.
MAX_UNTRUSTED_PLAN_BYTES = 8 * MiB
MAX_UNTRUSTED_CHANGES = 20_000
MAX_ERRORS_SHOWN = 10


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads((schema_dir() / "plan.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def schema_errors(document: Any, whole: bool) -> list[str]:
    """Where ``document`` breaks the schema: ``whole`` wants a plan or drift document, else one
    plan object or a list of them is accepted too (per-target files of a workflow matrix)."""
    validator = _validator()
    if whole or (isinstance(document, dict) and "format" in document):
        found = validator.iter_errors(document)
    else:
        if isinstance(document, dict) and isinstance(document.get("plans"), list) and set(document) <= {"plans", "summary"}:
            items = document["plans"]
        else:
            items = document if isinstance(document, list) else [document]
        plan_schema = validator.evolve(schema={**validator.schema["$defs"]["plan"], "$defs": validator.schema["$defs"]})
        found = (e for i, item in enumerate(items) for e in _located(plan_schema.iter_errors(item), i))
    messages = []
    for error in sorted(found, key=lambda e: [str(p) for p in e.absolute_path]):
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        text = error.message if len(error.message) <= 200 else error.message[:199] + "…"
        messages.append(f"at {where}: {terminal(text)}")
    return messages


def _located(errors: Any, index: int) -> Any:
    for error in errors:
        error.path.appendleft(index)
        yield error


def read_plans(path: str | Path, *, untrusted: bool = False, formats: tuple[str, ...] | None = None) -> list[Plan]:
    """The plans in the JSON file ``path``, validated; ``untrusted`` applies the fork limits."""
    from reconciler.report.json_report import READABLE_VERSIONS, plan_from_json

    limit = MAX_UNTRUSTED_PLAN_BYTES if untrusted else MAX_PLAN_BYTES
    data = read_limited(path, limit, "plan file")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not a JSON plan: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{error.lineno}:{error.colno}: not a JSON plan: {error.msg}") from None
    except RecursionError:
        raise UserError(f"{path}: not a JSON plan: nested too deeply") from None
    if formats is not None and not (isinstance(document, dict) and document.get("format") in formats):
        raise UserError(f"{path}: not a saved plan (format is not {formats[0]!r})",
                        hint="create one with `reconciler plan --out FILE`")
    if isinstance(document, dict) and "format" in document and document.get("version") not in READABLE_VERSIONS:
        raise UserError(f"{path}: plan format version {terminal(repr(document.get('version')))} is not supported "
                        f"(expected {' or '.join(map(str, READABLE_VERSIONS))})",
                        hint="plan again with this version of the reconciler")
    errors = schema_errors(document, whole=untrusted)
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = f"\n  … and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        raise UserError(f"{path}: not a valid plan ({len(errors)} error(s)):\n  " + "\n  ".join(shown) + more,
                        hint="the file must be a plan written by `reconciler plan --format json` (docs/plan-json.md)")
    if isinstance(document, dict) and isinstance(document.get("plans"), list):
        items = document["plans"]
    elif isinstance(document, list):
        items = document
    else:
        items = [document]
    if untrusted:
        changes = sum(len(item.get("changes", [])) for item in items)
        if changes > MAX_UNTRUSTED_CHANGES:
            raise UserError(f"{path}: the plan holds {changes:,} changes; an untrusted plan may hold at most "
                            f"{MAX_UNTRUSTED_CHANGES:,}")
    return [plan_from_json(item) for item in items]
