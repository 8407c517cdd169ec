"""Shared switches and tallies for the reliability suites.

``SOAK`` is set by conftest.py from ``--soak``; ``FIGURES`` counts what the suites did (inputs
fuzzed, faults injected, crashes survived, lock races run) and is printed at the end of the run,
which is where docs/reliability.md takes its numbers from.
"""

from __future__ import annotations

from collections import Counter

SOAK = False
FIGURES: Counter[str] = Counter()


def scale(ci: int, soak: int) -> int:
    """How many iterations to run: bounded in CI, longer under --soak."""
    return soak if SOAK else ci


def tally(name: str, amount: int = 1) -> None:
    FIGURES[name] += amount
