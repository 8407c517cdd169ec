"""Running the policy loader on hostile input under a time limit and a memory measurement.

Every input must end in a policy or clean diagnostics: no exception escapes, no run exceeds the
time limit (a hang), and the Python heap stays bounded (tracemalloc's peak).
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.config import (
    CODES,
    Diagnostic,
    format_github,
    format_json,
    format_text,
    has_errors,
    load_policy,
)

MiB = 1024 * 1024


class Hang(Exception):
    """The code under test ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block with :class:`Hang` after ``seconds`` (main thread, Unix)."""

    def expire(_signum: int, _frame: Any) -> None:
        raise Hang(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    policy: Any
    diagnostics: list[Diagnostic]
    seconds: float
    peak_bytes: int

    @property
    def codes(self) -> set[str]:
        return {d.code for d in self.diagnostics}


def assert_clean(policy: Any, diagnostics: list[Diagnostic]) -> None:
    """A policy, or errors that name a file, a position, a known code and a message."""
    assert isinstance(diagnostics, list)
    assert (policy is None) == has_errors(diagnostics), (policy, diagnostics)
    for d in diagnostics:
        assert isinstance(d, Diagnostic), d
        assert d.severity in ("error", "warning"), d
        assert d.code in CODES, f"undocumented diagnostic code {d.code!r}: {d}"
        assert isinstance(d.file, str) and d.file, d
        assert isinstance(d.line, int) and d.line >= 1 and isinstance(d.column, int) and d.column >= 1, d
        assert isinstance(d.message, str) and d.message.strip(), d
        assert "Traceback" not in d.message and "Error(" not in d.message, d
        # A diagnostic quotes what is wrong, not megabytes of it (GitHub annotations, terminals).
        assert len(d.message) < 10_000, f"diagnostic message of {len(d.message)} characters"
    # Every output format renders them.
    format_text(diagnostics)
    format_github(diagnostics)
    json.loads(format_json(diagnostics))


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        match = re.search(rf"^{field}:\s+(\d+) kB", handle.read(), re.MULTILINE)
    return int(match.group(1)) if match else 0


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Growth of the process's peak resident memory over the block, in bytes (Linux).

    Resets the kernel's high-water mark (``/proc/self/clear_refs``) so each measurement starts
    afresh; unlike tracemalloc this does not slow the pure-Python YAML parser tenfold.
    """
    result = [0]
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")
    before = _status_kib("VmRSS")
    try:
        yield result
    finally:
        result[0] = max(0, _status_kib("VmHWM") - before) * 1024


def load_checked(config_dir: Path, seconds: float = 10.0, max_peak: int = 64 * MiB) -> Outcome:
    """``load_policy`` under a time limit, measuring peak memory; asserts a clean outcome."""
    started = time.perf_counter()
    with peak_memory() as peak, time_limit(seconds):
        policy, diagnostics = load_policy(config_dir)
    elapsed = time.perf_counter() - started
    assert_clean(policy, diagnostics)
    assert peak[0] <= max_peak, f"loading grew peak memory by {peak[0] / MiB:.1f} MiB (limit {max_peak / MiB:.0f} MiB)"
    return Outcome(policy, diagnostics, elapsed, peak[0])


def write_files(directory: Path, files: dict[str, bytes | str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return directory


TARGETS_YAML = """\
targets:
  - name: prod
    account_id: "111111111111"
    region: us-east-1
"""
