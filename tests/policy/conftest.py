"""Helpers for the policy-language tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.config import Diagnostic

TARGETS = """targets:
  - name: prod
    account_id: "111111111111"
    region: us-east-1
"""


def reported(config_dir: Path, diagnostics: list[Diagnostic]) -> list[str]:
    """``file:line:col: severity[code]`` with files relative to ``config_dir``."""
    return sorted(
        f"{os.path.relpath(d.file, config_dir)}:{d.line}:{d.column}: {d.severity}[{d.code}]"
        for d in diagnostics
    )


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    return directory
