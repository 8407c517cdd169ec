"""Issue 11, item 4, "and verification checks it": after an apply, a fresh read must show every
end-user opt-out still refused by each identity that refused it before; a carry that silently did
nothing, or an identity moved without its opt-out list area, fails the apply (exit 1), masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from optout_support import OPTED_OUT, Account
from test_end_user_opt_outs_follow import RECIPIENT, lists, on_list

from reconciler.aws import Api


@pytest.fixture
def account(tmp_path: Path) -> tuple[Account, dict[str, str]]:
    """A toll-free number on list ``old``; a recipient replied STOP to it."""
    account = Account(tmp_path)
    number = account.number()
    account.client().create_opt_out_list(OptOutListName="old")
    account.client().update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="old")
    account.stop(number["PhoneNumberId"], RECIPIENT)
    assert account.send_error(number["PhoneNumberId"], RECIPIENT) == OPTED_OUT
    return account, number


def silent_carry(api: Api, change: Any, arn: str | None) -> None:
    """A carry writer that reports success and writes nothing."""


def assert_fails_masked(code: int, out: str, number: dict[str, str], lists_moved: str) -> None:
    masked = number["PhoneNumber"][:-4] + "****"
    assert code == 1, out
    assert f"end-user opt-outs reachable again: 1 on {masked} (list {lists_moved})" in out, out
    assert "Apply FAILED verification" in out and "Apply complete" not in out, out
    for secret in (RECIPIENT, RECIPIENT[1:], number["PhoneNumber"], number["PhoneNumber"][1:]):
        assert secret not in out, out


@pytest.mark.parametrize(("mode", "prune", "lists_moved"), [
    ("additive", False, "old -> new"),  # the number moves to a new list
    ("exact", True, "old -> new"),  # a rename: the old list is deleted
])
def test_a_carry_that_silently_writes_nothing_fails_the_apply(
    account: tuple[Account, dict[str, str]], mode: str, prune: bool, lists_moved: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    account_, number = account
    kept = () if prune else ("old",)
    account_.policy(**{"opt-outs": lists(*kept, "new", mode=mode, prune=prune)}, identities=on_list(number, "new"))
    monkeypatch.setattr("reconciler.areas.opt_outs.area.apply_carry", silent_carry)
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert_fails_masked(code, out, number, lists_moved)
    # The oracle agrees: the recipient who replied STOP can be messaged from the number now.
    assert account_.send_error(number["PhoneNumberId"], RECIPIENT) is None


def test_a_move_without_the_opt_out_area_fails_the_apply(
    account: tuple[Account, dict[str, str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing read old's end-user opt-outs before the apply: verification reads them (filtered).
    account_, number = account
    account_.client().create_opt_out_list(OptOutListName="new")
    account_.policy(**{"opt-outs": lists("old", "new")}, identities=on_list(number, "new"))
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve", "--exclude", "opt_outs")
    assert_fails_masked(code, out, number, "old -> new")


def test_the_normal_carry_is_verified_and_exits_0(
    account: tuple[Account, dict[str, str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account_, number = account
    account_.policy(**{"opt-outs": lists("old", "new")}, identities=on_list(number, "new"))
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert code == 0 and "Apply complete" in out and "reachable again" not in out, out
    assert account_.send_error(number["PhoneNumberId"], RECIPIENT) == OPTED_OUT
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve")  # nothing moves: nothing checked
    assert code == 0 and "0 change(s)" in out, out


def test_a_stop_not_named_in_the_policy_is_carried_when_the_list_is_probed_whole(
    account: tuple[Account, dict[str, str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The policy names another number on ``old``: the list is probed (read whole, it is small); the
    # probe recorded only the named numbers' end-user flags, so the STOP was neither carried nor seen.
    account_, number = account
    account_.client().put_opted_out_number(OptOutListName="old", OptedOutNumber="+12065550199")
    body = lists("old", "new").replace("    numbers: []\n", '    numbers: ["+12065550199"]\n', 1)
    account_.policy(**{"opt-outs": body}, identities=on_list(number, "new"))
    code, out = account_.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert code == 0 and "reachable again" not in out, out
    assert account_.send_error(number["PhoneNumberId"], RECIPIENT) == OPTED_OUT
