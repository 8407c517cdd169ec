"""Logging setup: structlog to stderr, console or JSON, with personal data masked.

Levels: INFO without a terminal (reads and apply progress, for CI), WARNING on a terminal, DEBUG with ``-v`` (every AWS
call with its operation, latency and retries). A processor masks E.164 numbers in every string
value, so no log line can carry a full opted-out number; credentials are never logged (the
AWS layer logs operation names and masked parameter summaries only).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from reconciler.report.escape import log_text, terminal
from reconciler.report.mask import mask_text


def _masked(value: Any) -> Any:
    """Mask numbers in strings at any depth: a list or dict field must not smuggle one out."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(item) for item in value]
    return value


def _mask(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        event[key] = _masked(value)
    return event


def _escape_for_console(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The console renderer prints strings raw: escape control characters and workflow commands
    (a name read from AWS must not move the cursor or become a command in a CI log)."""
    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = terminal(value)
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing (it may be replaced later,
    e.g. by a test runner's capture), rather than to the stream current at configuration."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


_format = "console"  # as configured; ``say`` follows it


def say(text: str, level: str = "info", event: str = "message") -> None:
    """A line for the person running the command (an error, its hint, a saved file) on stderr:
    plain text, or with ``--log-format json`` one JSON object like every log line, so that a JSON
    log stays machine-readable to the end. The text is the product's own (errors built from AWS
    answers are masked where they are made, and again here); a validation error may quote the user's own
    file, so each line is escaped for the terminal (reconciler.report.escape)."""
    masked = mask_text(text)
    if _format == "json":
        import datetime as dt
        import json

        stamp = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        line = json.dumps({"event": event, "level": level, "message": masked, "timestamp": stamp}, sort_keys=True)
        sys.stderr.write(line + "\n")
    else:
        sys.stderr.write(log_text(masked) + "\n")
    sys.stderr.flush()


def configure(log_format: str = "console", verbosity: int = 0, stream: TextIO | None = None) -> None:
    global _format
    _format = log_format
    out: Any = stream or _CurrentStderr()
    # A terminal shows a progress bar; CI (no terminal) gets structured progress events at INFO.
    level = logging.DEBUG if verbosity > 0 else (logging.WARNING if out.isatty() else logging.INFO)
    renderer: Any
    escape: list[Any] = []
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=True)  # json escapes controls itself
    else:
        from reconciler.terminal import colour

        renderer = structlog.dev.ConsoleRenderer(colors=colour(out))
        escape = [_escape_for_console]
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask,
            *escape,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
