"""The --soak switch: slow tests are skipped without it."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_slow_tests_run_only_with_soak(soak: bool) -> None:
    assert soak, "a slow test ran without --soak"
