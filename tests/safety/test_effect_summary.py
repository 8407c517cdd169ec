"""Issue 14, item 1: a pull request's plan shows what it changes in effect first — the countries a
policy change opens on which send path, and end-user opt-outs that change reachability (counted,
never shown) — through the CLI on a sandbox snapshot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from optout_support import Account

from reconciler.cli import main

RECIPIENT = "+12065550142"


BY_HANDSET = "+375294911911"


def protect(blocked: str, monitored: str = "[]", overrides: str = "[]") -> str:
    return f"""
        protect_configurations:
          - name: prod
            account_default: true
            configuration_sets: [tx]
            rules:
              SMS: {{default: ALLOW, BLOCK: {blocked}, MONITOR: {monitored}}}
            number_overrides: {overrides}
        configuration_sets:
          - name: tx
        """


@pytest.fixture
def applied(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Account:
    """Live: prod, the account default, also on configuration set tx, blocks SMS to AF and BY."""
    account = Account(tmp_path)
    account.client().create_configuration_set(ConfigurationSetName="tx")
    account.policy(protect=protect("[AF, BY]"))
    code, out = account.cli(capsys, monkeypatch, "apply", "--auto-approve")
    assert code == 0, out
    code, out = account.cli(capsys, monkeypatch, "plan", "--detailed-exitcode")
    assert code == 0, out
    return account


def test_opening_a_blocked_country_is_the_first_thing_the_plan_says(
    applied: Account, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).strftime("%Y-%m-%dT00:00:00Z")
    applied.policy(protect=protect("[BY]", "[NG]", f'[{{number: "{BY_HANDSET}", action: ALLOW, expires: "{expires}"}}]'))
    code, out = applied.cli(capsys, monkeypatch, "plan")
    assert code == 0, out
    overrides = out.index("Number overrides that open a blocked country:")
    assert "1 number override(s) in prod let messages through to Belarus (BY), which its rules block" in out[overrides:]
    assert BY_HANDSET[4:] not in out
    target = out.index("Target prod")
    effect = out.index("Effect (riskiest first):")
    assert target < effect < out.index("Changes in dependency order:"), out
    first = out[effect:].splitlines()[1:3]
    assert first[0].strip() == "Newly reachable countries:", out
    # Both paths resolve to prod and change alike: one line names them both.
    assert "SMS on sends without a configuration set (account default: protect configuration prod" in first[1]
    assert "; configuration set tx (protect configuration prod" in first[1]
    assert first[1].endswith(": Afghanistan (AF) BLOCK -> ALLOW"), out
    newly_monitored = out.index("Newly monitored or filtered countries:")
    assert "Nigeria (NG) ALLOW -> MONITOR" in out[newly_monitored:]

    code, out = applied.cli(capsys, monkeypatch, "plan", "--format", "json")
    assert code == 0, out
    effects = json.loads(out)["plans"][0]["effects"]
    reachable = [e for e in effects["countries"] if e["kind"] == "newly-reachable"]
    assert [(e["path"]["kind"], e["path"]["name"], e["capability"]) for e in reachable] == [
        ("no-configuration-set", "", "SMS"), ("configuration-set", "tx", "SMS")]
    assert all(e["countries"] == [{"code": "AF", "before": "BLOCK", "after": "ALLOW"}] for e in reachable)
    assert effects["countries"][0] == reachable[0]  # riskiest first
    assert effects["overrides"] == [{"configuration": "prod", "country": "BY", "numbers": 1}]

    code, out = applied.cli(capsys, monkeypatch, "plan", "--format", "markdown")
    assert code == 0, out
    assert out.index("Newly reachable countries") < out.index("Afghanistan") < out.index("<details>"), out

    # The PR comment is rendered from the saved plan (a fork's, untrusted): the effect survives the file.
    saved, comment = applied.state.parent / "plan.json", applied.state.parent / "comment.md"
    code, out = applied.cli(capsys, monkeypatch, "plan", "--out", str(saved))
    assert code == 0, out
    assert main(["github", "render", "--plan", str(saved), "--untrusted-fork", "--out", str(comment)]) == 0
    text = comment.read_text()
    assert text.index("#### Effect") < text.index("Afghanistan (AF) BLOCK -> ALLOW") < text.index("<details>"), text


def test_moving_a_number_to_a_list_shows_its_end_user_opt_outs_counted_and_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = Account(tmp_path)
    number = account.number()
    account.client().create_opt_out_list(OptOutListName="old")
    account.client().update_phone_number(PhoneNumberId=number["PhoneNumberId"], OptOutListName="old")
    account.stop(number["PhoneNumberId"], RECIPIENT)
    account.policy(**{
        "opt-outs": "opt_out_lists:\n  - name: old\n    numbers: []\n  - name: new\n    numbers: []\n",
        "identities": f'phone_numbers:\n  - phone_number: "{number["PhoneNumber"]}"\n    opt_out_list: new\n',
    })
    code, out = account.cli(capsys, monkeypatch, "plan")
    assert code == 0, out
    effect = out.index("Effect (riskiest first):")
    assert effect < out.index("Changes in dependency order:"), out
    assert "Identities that honour another opt-out list:" in out
    line = next(text for text in out.splitlines() if "old -> new" in text)
    assert "1 end-user opt-out(s) refused before, all still refused after" in line, out
    assert RECIPIENT[2:] not in out and number["PhoneNumber"][2:] not in out

    code, out = account.cli(capsys, monkeypatch, "plan", "--format", "json")
    assert code == 0, out
    [moved] = json.loads(out)["plans"][0]["effects"]["opt_outs"]
    assert moved == {"kind": "phone-number", "id": number["PhoneNumberId"], "before": ["old"], "after": ["new"],
                     "end_user_opt_outs": 1, "newly_reachable": 0}
    assert RECIPIENT[2:] not in out
