"""What the terminal allows: colour and live (redrawn) lines.

Colour follows the conventions users know: only on a TTY, never with ``NO_COLOR`` set to any
non-empty value (https://no-color.org), ``--no-color`` or ``TERM=dumb``. A live line (a
progress bar redrawn with ``\\r``) needs a TTY that understands cursor movement, so not
``TERM=dumb`` either.
"""

from __future__ import annotations

import os
from typing import Protocol


class _Stream(Protocol):
    def isatty(self) -> bool: ...


_no_colour_flag = False  # set once from --no-color


def disable_colour() -> None:
    global _no_colour_flag
    _no_colour_flag = True


def dumb() -> bool:
    return os.environ.get("TERM", "") == "dumb"


def live(stream: _Stream) -> bool:
    """May ``stream`` show a line redrawn in place?"""
    try:
        return bool(stream.isatty()) and not dumb()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def colour(stream: _Stream) -> bool:
    """May text written to ``stream`` carry colour escape codes?"""
    return live(stream) and not os.environ.get("NO_COLOR") and not _no_colour_flag
