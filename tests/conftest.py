"""Options for the whole test suite (kept here so they work from the repository root)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # The reliability soak: tests marked slow, and more crashes, faults and fuzz examples.
    # Its behaviour lives in tests/reliability/conftest.py.
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="run the long reliability soak (slow tests, more crashes, faults and fuzz examples)",
    )
