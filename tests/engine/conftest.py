"""Fixtures of the engine tests (helpers live in engine_support.py)."""

from __future__ import annotations

import pytest
from engine_support import Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()
