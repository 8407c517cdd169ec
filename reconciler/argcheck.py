"""Checks on parsed command-line options that argparse's ``type=`` cannot express.

``float("nan")`` and ``float("inf")`` parse, and a NaN threshold compares false with everything:
``--max-removal-percent nan`` would silently turn the removal guard off. Every float option of
every command is checked here, after parsing, so a new option cannot forget it.
"""

from __future__ import annotations

import argparse
import math

from reconciler.cli import UserError


def check_finite(args: argparse.Namespace) -> None:
    bad = sorted(name for name, value in vars(args).items() if isinstance(value, float) and not math.isfinite(value))
    if bad:
        options = ", ".join(f"--{name.replace('_', '-')} {getattr(args, name)}" for name in bad)
        raise UserError(f"{options}: not a finite number", hint="give a number such as 10 or 2.5 (NaN and infinity are refused)")
