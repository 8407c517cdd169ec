"""`reconciler check PLAN.json`: the guardrails over saved plans, offline (exit 0 / 2 / 1)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sample_plans import (
    emergency_plan,
    external_share_plan,
    guardrails_file,
    high_risk_plan,
    many_countries_plan,
    opt_out_loss_plan,
    protect_plan,
    rules,
    saved,
)

from reconciler.cli import main


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_opening_a_high_risk_country_needs_the_fraud_teams_approval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, saved(tmp_path, "pr.json", high_risk_plan()), "--guardrails", guardrails_file(tmp_path))
    assert code == 2
    assert "high-risk-sms: needs approval from acme/fraud" in out
    # Only the listed country counts: Australia opens too, but it is not on high_risk.
    assert "prod: 1 country on list high_risk newly reachable for SMS: Nigeria (NG)" in out
    assert "Australia" not in out


def test_moving_a_number_to_a_list_lacking_its_stops_is_denied_with_the_count(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, saved(tmp_path, "pr.json", opt_out_loss_plan()), "--guardrails", guardrails_file(tmp_path),
                         "--format", "json")
    assert code == 1
    verdicts = json.loads(out)
    assert verdicts["exit_code"] == 1
    [finding] = verdicts["findings"]
    assert (finding["rule"], finding["verdict"], finding["count"]) == ("opt-out-coverage", "deny", 2)
    assert finding["details"] == ["prod: 2 recipient(s) who replied STOP could be messaged again by 1 identity moving "
                                  "to a list that lacks their opt-outs"]
    assert "+1206" not in out


def test_a_warning_alone_passes_and_a_quiet_plan_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rails = guardrails_file(tmp_path)
    code, out, _ = check(capsys, saved(tmp_path, "many.json", many_countries_plan()), "--guardrails", rails)
    assert code == 0
    assert "many-countries: warning" in out and "5 countries changed for VOICE" in out
    code, out, _ = check(capsys, saved(tmp_path, "none.json", protect_plan([])), "--guardrails", rails)
    assert code == 0
    assert "guardrails: 4 rule(s), 0 fired" in out


def test_sharing_outside_the_organization_needs_security(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, saved(tmp_path, "pr.json", external_share_plan()), "--guardrails", guardrails_file(tmp_path))
    assert code == 2
    assert "external-sharing: needs approval from acme/security" in out
    assert "999988887777 (partner)" in out


def test_deny_wins_over_needs_approval_across_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staging = replace(opt_out_loss_plan(), target="staging")
    code, out, _ = check(capsys, saved(tmp_path, "prod.json", high_risk_plan()), saved(tmp_path, "staging.json", staging),
                         "--guardrails", guardrails_file(tmp_path))
    assert code == 1
    assert out.index("opt-out-coverage: denied") < out.index("high-risk-sms: needs approval")
    assert "staging: 2 recipient(s)" in out


def test_a_plan_without_effects_is_an_error_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(saved(tmp_path, "old.json", high_risk_plan()))
    document = json.loads(path.read_text())
    document["version"] = 1
    del document["plans"][0]["effects"]
    path.write_text(json.dumps(document))
    code, out, err = check(capsys, str(path), "--guardrails", guardrails_file(tmp_path))
    assert code == 1 and out == ""
    assert "3 guardrail rule(s) cannot be evaluated" in err
    assert "rule high-risk-sms: the plan of target prod has no effect summary" in err


def test_a_plan_that_did_not_read_an_area_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only_protect = replace(high_risk_plan(), areas=["protect"])
    code, _, err = check(capsys, saved(tmp_path, "only.json", only_protect), "--guardrails", guardrails_file(tmp_path))
    assert code == 1
    assert "rule opt-out-coverage: the plan of target prod did not read phone_numbers, opt_outs" in err
    assert "rule external-sharing: the plan of target prod did not read shares" in err


def test_an_emergency_block_is_exempt_from_approval_but_not_from_deny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rails = guardrails_file(tmp_path, """\
rules:
  - name: big-blocks
    when: {effect: countries_newly_blocked, more_than: 1}
    verdict: {needs-approval: acme/fraud}
""")
    code, out, _ = check(capsys, saved(tmp_path, "block.json", emergency_plan()), "--guardrails", rails)
    assert code == 0
    assert "big-blocks: exempt from approval by acme/fraud (the plan only blocks countries" in out
    # The same rule on a plan that also opens something is not exempt.
    mixed = protect_plan([*emergency_plan().changes, rules("SMS", {"AU": ("BLOCK", "ALLOW")})], {"AU": "BLOCK"})
    code, out, _ = check(capsys, saved(tmp_path, "mixed.json", mixed), "--guardrails", rails)
    assert code == 2
    assert "big-blocks: needs approval from acme/fraud" in out


def test_targets_filter_limits_a_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rails = guardrails_file(tmp_path, """\
rules:
  - name: staging-only
    when: {effect: countries_newly_reachable, targets: [staging]}
    verdict: deny
""")
    code, _, _ = check(capsys, saved(tmp_path, "prod.json", high_risk_plan()), "--guardrails", rails)
    assert code == 0
    code, out, _ = check(capsys, saved(tmp_path, "staging.json", high_risk_plan("staging")), "--guardrails", rails)
    assert code == 1 and "staging: 2 countries newly reachable for SMS: Australia (AU), Nigeria (NG)" in out


def test_invalid_guardrails_are_reported_at_file_line_and_nothing_is_evaluated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rails = guardrails_file(tmp_path, "rules:\n  - name: x\n    when: {effect: countries_newly_reachable, countries_in: risky}\n"
                                      "    verdict: deny\n")
    code, out, err = check(capsys, saved(tmp_path, "pr.json", high_risk_plan()), "--guardrails", rails)
    assert code == 1 and out == ""
    assert f"{rails}:3:61: error[guardrail-unknown-list]: rules[0].when.countries_in: no country list 'risky'" in err


def test_a_missing_guardrails_file_says_how_to_get_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = check(capsys, saved(tmp_path, "pr.json", high_risk_plan()), "--config", str(tmp_path / "nowhere"))
    assert code == 1
    assert "guardrails.yaml: no guardrails file" in err and "reconciler init" in err
