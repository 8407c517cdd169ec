"""Read plans written by ``reconciler plan --format json`` / ``--out`` and ``drift --format json``.

Both documents carry ``{"plans": [...]}``; one plan object or a list of plans is accepted too,
so per-target files from a workflow matrix and one multi-target file are read the same way.
Every file is size-limited and validated against the plan schema (reconciler.report.plan_input);
``untrusted`` (a fork's plan) wants a whole plan or drift document under tighter limits.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.plan import Plan
from reconciler.report.plan_input import read_plans


def load_plans(path: str | Path, untrusted: bool = False) -> list[Plan]:
    return read_plans(path, untrusted=untrusted)
