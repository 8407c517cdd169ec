"""Colour only on a terminal, and never with NO_COLOR (any non-empty value), --no-color or TERM=dumb."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pty_support import Terminal

REPO = Path(__file__).resolve().parents[2]
COLOUR = re.compile(rb"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("colour")
    shutil.copytree(REPO / "config", path / "config")
    subprocess.run([sys.executable, "-m", "reconciler", "sandbox", "snapshot", "--generate", "example",
                    "--account", "111111111111", "--out", "state.json"], cwd=path, check=True, capture_output=True)
    return path


def plan_on_a_terminal(workdir: Path, *extra: str, env: dict[str, str] | None = None) -> bytes:
    term = Terminal(["plan", "--sandbox", "state.json", *extra], workdir, env)
    assert term.finish() == 0, term.text
    assert b"Plan: " in term.output
    return term.output


def test_a_terminal_gets_colour(workdir: Path) -> None:
    assert COLOUR.search(plan_on_a_terminal(workdir))


@pytest.mark.parametrize("value", ["1", "0", "false", "yes"])
def test_no_color_with_any_non_empty_value_turns_colour_off(workdir: Path, value: str) -> None:
    assert not COLOUR.search(plan_on_a_terminal(workdir, env={"NO_COLOR": value}))


def test_an_empty_no_color_keeps_colour(workdir: Path) -> None:
    assert COLOUR.search(plan_on_a_terminal(workdir, env={"NO_COLOR": ""}))


def test_the_no_color_flag_turns_colour_off(workdir: Path) -> None:
    assert not COLOUR.search(plan_on_a_terminal(workdir, "--no-color"))


def test_a_dumb_terminal_gets_no_escape_codes_at_all(workdir: Path) -> None:
    output = plan_on_a_terminal(workdir, "-v", env={"TERM": "dumb"})
    assert b"\x1b" not in output


def test_no_terminal_no_colour(workdir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--sandbox", "state.json"], cwd=workdir,
                            capture_output=True, timeout=120)
    assert result.returncode == 0
    assert b"\x1b" not in result.stdout + result.stderr
