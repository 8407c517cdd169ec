"""Read plans written by ``reconciler plan --format json`` / ``--out`` and ``drift --format json``.

Both documents carry ``{"plans": [...]}``; one plan object or a list of plans is accepted too,
so per-target files from a workflow matrix and one multi-target file are read the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.cli import UserError
from reconciler.plan import Plan
from reconciler.report.json_report import plan_from_json


def load_plans(path: str | Path) -> list[Plan]:
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{file}: no such plan file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{file}: not a JSON plan: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("plans"), list):
        items = document["plans"]
    elif isinstance(document, list):
        items = document
    elif isinstance(document, dict):
        items = [document]
    else:
        raise UserError(f"{file}: expected a plan object or a list of plans")
    try:
        return [plan_from_json(item) for item in items]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UserError(f"{file}: malformed plan: {error!r}") from None
