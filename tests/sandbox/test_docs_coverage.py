"""The sandbox's documentation names every operation it emulates, in that service's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.sandbox.registry import SMS_VOICE, emulated_operations

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _table_operations(page: str) -> set[str]:
    """Operation names in the first cell of the page's table rows (``A / B`` cells name several)."""
    names: set[str] = set()
    for line in (DOCS / page).read_text().splitlines():
        match = re.match(r"^\|\s*([A-Z][^|]*?)\s*\|", line)
        if match:
            names.update(part.strip() for part in match[1].split("/"))
    return names


@pytest.mark.parametrize(("service", "operation"), emulated_operations())
def test_every_emulated_operation_has_a_documented_row(service: str, operation: str) -> None:
    page = "sandbox-operations.md" if service == SMS_VOICE else "sandbox.md"
    sending = service == SMS_VOICE and operation.startswith("Send")
    if sending:  # documented together under their own heading
        assert re.search(rf"^## Sending:.*\b{operation}\b", (DOCS / page).read_text(), re.MULTILINE)
    elif operation == "UntagResource" or operation.endswith("TagResource") or operation == "ListTagsForResource":
        assert operation in (DOCS / page).read_text().split("## Tags", 1)[1].split("##", 1)[0]
    else:
        assert operation in _table_operations(page), f"{service}.{operation} has no row in docs/{page}"
