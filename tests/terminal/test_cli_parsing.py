"""argparse as users expect it: the subcommand's usage on its errors, no abbreviations,
suggestions for mistyped commands, help texts for users, shell completion."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from reconciler.cli import build_parser, main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, timeout=60)


def every_parser() -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    pending = [build_parser()]
    while pending:
        parser = pending.pop()
        found.append(parser)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())
    return found


def test_a_subcommand_error_shows_the_subcommands_usage() -> None:
    result = run_cli("plan", "--bogus")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: reconciler plan ")
    assert "reconciler plan: error: unrecognized arguments: --bogus" in result.stderr


def test_a_nested_subcommand_error_shows_its_own_usage() -> None:
    result = run_cli("sandbox", "serve", "--nope")
    assert result.stderr.startswith("usage: reconciler sandbox serve ")


def test_abbreviations_are_refused() -> None:
    result = run_cli("apply", "--auto")
    assert result.returncode == 2
    assert "unrecognized arguments: --auto" in result.stderr
    assert all(not p.allow_abbrev for p in every_parser())


def test_a_mistyped_command_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["pln"])
    assert exit_.value.code == 2
    assert "did you mean plan?" in capsys.readouterr().err


def test_a_repeatable_option_given_two_values_says_it_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["block", "AU", "--capability", "SMS", "VOICE"])
    err = capsys.readouterr().err
    assert "usage: reconciler block" in err
    assert "--capability takes one value and repeats: --capability SMS --capability VOICE" in err


INTERNALS = re.compile(r"``|`|(?<![.\w])reconciler/\w|\w\.py\b|\breconciler\.\w|:func:|:mod:|:meth:|\w\(\)")


@pytest.mark.parametrize("parser", every_parser(), ids=lambda p: p.prog)
def test_help_is_written_for_users(parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert not INTERNALS.search(text), f"{parser.prog} --help shows internals: {INTERNALS.search(text)}"
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._VersionAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            assert all(a.help for a in action._choices_actions), f"{parser.prog}: a subcommand has no help"
            continue
        assert action.help, f"{parser.prog} {action.option_strings or action.dest} has no help"
        if "--config" in action.option_strings:
            assert action.metavar == "DIR", f"{parser.prog} --config shows {action.metavar}"


def test_sandbox_serve_has_a_short_verbose_flag() -> None:
    args = build_parser().parse_args(["sandbox", "serve", "-v"])
    assert args.verbose is True


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_names_the_subcommands(shell: str) -> None:
    result = run_cli("completion", shell)
    assert result.returncode == 0, result.stderr
    for command in ("plan", "apply", "drift", "validate", "--auto-approve", "--capability"):
        assert command in result.stdout
    if shell == "bash":
        # The script loads in bash and registers a completion for the command.
        check = subprocess.run(["bash", "-c", f"{result.stdout}\ncomplete -p reconciler"],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        assert "reconciler" in check.stdout
