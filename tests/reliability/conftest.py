"""Reliability suites: bounded in CI, longer with ``--soak`` (which also runs ``@pytest.mark.slow``)."""

from __future__ import annotations

import contextlib

import pytest
import soakmode


def pytest_addoption(parser: pytest.Parser) -> None:
    # Registered by tests/conftest.py for runs from the repository root; here for runs of this
    # directory alone should that file not exist.
    with contextlib.suppress(ValueError):
        parser.addoption(
            "--soak",
            action="store_true",
            default=False,
            help="run the long reliability soak (slow tests, more crashes, faults and fuzz examples)",
        )


def pytest_configure(config: pytest.Config) -> None:
    soakmode.SOAK = bool(config.getoption("--soak", default=False))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if soakmode.FIGURES:
        terminalreporter.section("reliability figures")
        for name, count in sorted(soakmode.FIGURES.items()):
            terminalreporter.write_line(f"{name}: {count}")


@pytest.fixture(scope="session")
def soak() -> bool:
    return soakmode.SOAK
