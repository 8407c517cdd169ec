"""Command-line entry point. Each command lives in a module that exposes ``register(subparsers)``:
the generic ones in ``reconciler.commands.<name>``, an area's where its ``Area.commands`` says
(e.g. ``block``). This module only discovers them, runs one, and maps failures to exit codes.

Exit codes: 0 success / no changes, 1 error, 2 changes or drift (with --detailed-exitcode / drift).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import pkgutil
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from reconciler import __version__


class UserError(Exception):
    """A mistake the user can fix: printed as one clear message, never as a traceback."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)")


class Parser(argparse.ArgumentParser):
    """argparse as users of other CLIs expect it: no silent abbreviations (``apply --auto`` is not
    ``--auto-approve``), errors with the usage of the (sub)command that was mistyped, a suggestion
    for a mistyped choice, and a hint when a one-value option was given several values.
    Subcommand parsers are of this class too (argparse makes them of the parent's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # The deepest subcommand chosen leaves its parser here, for errors found after parsing.
        self.set_defaults(_command_parser=self)

    def error(self, message: str) -> NoReturn:
        match = _INVALID_CHOICE.search(message)
        if match:
            choices = [c.strip().strip("'") for c in match.group("choices").split(",")]
            close = difflib.get_close_matches(match.group("given"), choices, n=1)
            if close:
                message += f"\ndid you mean {close[0]}?"
        super().error(message)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras:
            parser: Parser = getattr(parsed, "_command_parser", self)
            message = f"unrecognized arguments: {' '.join(extras)}"
            hint = _repeat_hint(parser, argv, extras)
            parser.error(f"{message}\n{hint}" if hint else message)
        return parsed


def _repeat_hint(parser: argparse.ArgumentParser, argv: list[str], extras: list[str]) -> str | None:
    """``--capability SMS VOICE``: the option takes one value and repeats; say so."""
    for index, token in enumerate(argv[:-1]):
        action = parser._option_string_actions.get(token)
        if not isinstance(action, argparse._AppendAction) or action.nargs is not None:
            continue
        stray = []
        for value in argv[index + 2:]:
            if value.startswith("-") or value not in extras:
                break
            stray.append(value)
        if stray:
            values = [argv[index + 1], *stray]
            return f"{token} takes one value and repeats: {' '.join(f'{token} {v}' for v in values)}"
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="reconciler",
        description="GitOps policy-as-code reconciler for AWS End User Messaging SMS.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for _, module in sorted(command_modules().items()):
        importlib.import_module(module).register(sub)
    return parser


def command_modules() -> dict[str, str]:
    """Every subcommand's module, by command name: the generic ones in reconciler/commands (the
    module ``import_`` is the command ``import``, ``force_unlock`` is ``force-unlock``), then those
    the areas add (``Area.commands``: names relative to the area's package)."""
    import reconciler.commands as commands
    from reconciler.areas.base import registry

    found = {
        info.name.rstrip("_").replace("_", "-"): f"{commands.__name__}.{info.name}"
        for info in pkgutil.iter_modules(commands.__path__)
    }
    for area in registry().values():
        package = area.__module__.rsplit(".", 1)[0]
        for name, module in area.commands.items():
            if name in found:
                raise RuntimeError(f"area {area.name!r} adds the command {name!r} that {found[name]} already adds")
            found[name] = f"{package}.{module}"
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.__dict__.pop("_command_parser", None)
    from reconciler import interrupt
    from reconciler.progress import clear_live_line

    try:
        from reconciler.argcheck import check_finite

        check_finite(args)
        with interrupt.handling():
            return int(args.func(args) or 0)
    except UserError as error:
        from reconciler.logs import say

        clear_live_line()
        say(f"error: {error.message}", "error", "command.error")
        if error.hint:
            say(f"hint: {error.hint}", "error", "command.hint")
        return error.exit_code
    except KeyboardInterrupt:
        from reconciler.logs import say

        clear_live_line()
        say("interrupted", "error", "command.interrupted")
        return 130


def entry() -> None:
    """The ``reconciler`` command. After Ctrl-C, once everything is written and flushed, the
    process ends without the interpreter's teardown of every module and object, which takes a
    second or more on a busy machine: an interrupted command exits promptly."""
    code = main()
    if code == 130:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)
