"""Issue 11, "STOP opt-outs silently dropped": each reproduction through the CLI on a sandbox
snapshot, with the sandbox's SendTextMessage as the judge of who can be reached."""

from __future__ import annotations

from pathlib import Path

import pytest
from optout_support import OPTED_OUT, Account

RECIPIENT = "+12065550142"


@pytest.fixture
def account(tmp_path: Path) -> tuple[Account, dict[str, str]]:
    """A toll-free number on list ``old``; a recipient replied STOP to it."""
    account = Account(tmp_path)
    number = account.number()
    account.client().create_opt_out_list(OptOutListName="old")
    account.client().update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="old")
    account.stop(number["PhoneNumberId"], RECIPIENT)
    assert account.entries("old") == {RECIPIENT: True}
    assert account.send_error(number["PhoneNumberId"], RECIPIENT) == OPTED_OUT
    return account, number


def lists(*names: str, mode: str = "additive", prune: bool = False) -> str:
    body = "".join(f"  - name: {name}\n    mode: {mode}\n    numbers: []\n" for name in names)
    return "opt_out_lists:\n" + body + ("prune: [opt_outs]\n" if prune else "")


def on_list(number: dict[str, str], name: str) -> str:
    return f'phone_numbers:\n  - phone_number: "{number["PhoneNumber"]}"\n    opt_out_list: {name}\n'


def test_moving_the_number_to_a_new_list_carries_the_stop_first(
    account: tuple[Account, dict[str, str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account_, number = account
    account_.policy(**{"opt-outs": lists("old", "new")}, identities=on_list(number, "new"))
    code, out = account_.cli(capsys, monkeypatch, "plan")
    assert "carry 1 end-user opt-out(s) from old to new" in out, out
    saved = account_.state.parent / "plan.json"
    for fmt in ("json", "markdown"):
        code, out = account_.cli(capsys, monkeypatch, "plan", "--format", fmt, "--out", str(saved), "-v")
        assert "carried-from/old" in out and RECIPIENT not in out and RECIPIENT[1:] not in out
    assert RECIPIENT[1:] not in saved.read_text()
    # The saved plan applies (re-planned: the numbers are read again, never stored).
    code, out = account_.cli(capsys, monkeypatch, "apply", str(saved), "--auto-approve", "-v")
    assert code == 0 and RECIPIENT[1:] not in out, out
    # Before: the send went out.
    assert account_.send_error(number["PhoneNumberId"], RECIPIENT) == OPTED_OUT
    code, out = account_.cli(capsys, monkeypatch, "plan", "--detailed-exitcode")
    assert code == 0, out


@pytest.mark.parametrize("mode", ["additive", "exact"])
def test_renaming_a_list_keeps_the_stop_and_a_second_plan_is_empty(
    account: tuple[Account, dict[str, str]], mode: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    account_, number = account
    account_.policy(**{"opt-outs": lists("renamed", mode=mode, prune=True)}, identities=on_list(number, "renamed"))
    code, out = account_.cli(capsys, monkeypatch, "plan")
    assert "carry 1 end-user opt-out(s) from old to renamed" in out and "delete opt-out list old" in out, out
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert code == 0, out
    # Before: the STOP entry existed nowhere any more, and the send went out.
    assert account_.entries("renamed") == {RECIPIENT: False}
    assert account_.send_error(number["PhoneNumberId"], RECIPIENT) == OPTED_OUT
    code, out = account_.cli(capsys, monkeypatch, "plan", "--detailed-exitcode")
    assert code == 0, out
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert code == 0 and account_.entries("renamed") == {RECIPIENT: False}


def test_deleting_a_list_whose_stops_go_nowhere_needs_their_exact_count(
    account: tuple[Account, dict[str, str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account_, number = account
    account_.client().update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="Default")
    account_.policy(**{"opt-outs": lists("kept", prune=True)})
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert code == 1 and "drops 1 end-user opt-out(s)" in out and "--drop-end-user-opt-outs 1" in out, out
    assert "old" in {item["OptOutListName"] for item in account_.client().describe_opt_out_lists()["OptOutLists"]}
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve", "--drop-end-user-opt-outs", "2")
    assert code == 1 and "does not match" in out and "--drop-end-user-opt-outs 1 " in out, out
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve", "--drop-end-user-opt-outs", "1")
    assert code == 0, out
    assert "old" not in {item["OptOutListName"] for item in account_.client().describe_opt_out_lists()["OptOutLists"]}
