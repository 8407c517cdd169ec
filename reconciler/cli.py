"""Command-line entry point. Each command lives in ``reconciler.commands.<name>`` and exposes
``register(subparsers)``; this module only discovers them, runs one, and maps failures to exit codes.

Exit codes: 0 success / no changes, 1 error, 2 changes or drift (with --detailed-exitcode / drift).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Sequence

from reconciler import __version__


class UserError(Exception):
    """A mistake the user can fix: printed as one clear message, never as a traceback."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="GitOps policy-as-code reconciler for AWS End User Messaging SMS.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    import reconciler.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from reconciler.argcheck import check_finite

        check_finite(args)
        return int(args.func(args) or 0)
    except UserError as error:
        from reconciler.logs import say

        say(f"error: {error.message}", "error", "command.error")
        if error.hint:
            say(f"hint: {error.hint}", "error", "command.hint")
        return error.exit_code
    except KeyboardInterrupt:
        from reconciler.logs import say

        say("interrupted", "error", "command.interrupted")
        return 130
