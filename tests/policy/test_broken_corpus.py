"""The broken-config corpus: each ``broken/<case>/`` is a configuration directory with one mistake.

``expected.txt`` lists exactly what must be reported, one ``file:line:col: severity[code]`` per
line (files relative to the case directory). Nothing else may be reported, and a case with an
error must not produce a Policy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.config import Diagnostic, load_policy

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir())


def _expected(case: Path) -> list[str]:
    lines = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _reported(case: Path, diagnostics: list[Diagnostic]) -> list[str]:
    return sorted(
        f"{os.path.relpath(d.file, case)}:{d.line}:{d.column}: {d.severity}[{d.code}]" for d in diagnostics
    )


def test_corpus_covers_every_rule() -> None:
    """At least one broken case per diagnostic code, except those that need generated files."""
    from reconciler.config import CODES

    covered = set()
    for name in CASES:
        for line in _expected(BROKEN / name):
            covered.add(line.split("[", 1)[1].rstrip("]"))
    generated = {"config-dir", "file-too-large", "file-unreadable"}  # see test_generated_cases.py
    generated.add("schema-invalid")  # fallback for schema keywords the shipped schemas do not use
    assert sorted(set(CODES) - covered - generated) == []


@pytest.mark.parametrize("name", CASES)
def test_broken_case(name: str) -> None:
    case = BROKEN / name
    policy, diagnostics = load_policy(case)
    assert _reported(case, diagnostics) == _expected(case)
    for diagnostic in diagnostics:
        assert diagnostic.message
        assert diagnostic.hint, f"{diagnostic.code} has no hint"
    if any(d.is_error for d in diagnostics):
        assert policy is None
    else:
        assert policy is not None
