"""config/guardrails.yaml: schema and meaning checks at file:line:col, every problem at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.config import load_policy
from reconciler.guardrails.loader import load_guardrails

REPO = Path(__file__).resolve().parents[2]

BROKEN = """\
country_lists:
  high_risk: [NG, UK]
rules:
  - name: high-risk-sms
    when: {effect: countries_newly_reachable, capability: [SMS], countries_in: high_rsk}
    verdict: {needs-approval: "@acme/fraud"}
  - name: high-risk-sms
    when: {effect: end_user_opt_out_coverage_lost, capability: [SMS]}
    verdict: dney
  - name: sharing
    when: {effect: external_principals, targets: [prod, qa]}
    verdict: {needs-approval: acme/security}
  - name: no-effect
    when: {more_than: 3}
    verdict: warn
"""


def test_the_example_guardrails_are_valid() -> None:
    guardrails, problems = load_guardrails(REPO / "config" / "guardrails.yaml", ["prod"])
    assert problems == []
    assert guardrails is not None
    assert [r.name for r in guardrails.rules] == ["high-risk-sms", "opt-out-coverage", "external-sharing",
                                                  "blocked-country-overrides", "many-countries"]
    assert {r.approver for r in guardrails.rules} == {"acme/fraud", "acme/security", None}


def test_schema_problems_are_reported_at_their_lines_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "guardrails.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    guardrails, problems = load_guardrails(path)
    assert guardrails is None
    found = {(d.line, d.column, d.code) for d in problems}
    # Meaning (UK is no ISO code, high_rsk no list) is checked once the structure is right.
    assert found == {
        (6, 31, "schema-pattern"),  # a team is org/team, not @org/team
        (9, 14, "schema-enum"),  # dney
        (14, 11, "schema-missing-key"),  # no effect
    }
    by_line = {d.line: d for d in problems}
    assert by_line[6].hint == "write a team as org/team-slug (e.g. acme/fraud, no @) or a user as @login"
    assert by_line[9].hint == "did you mean deny?"


def test_meaning_problems_are_reported_at_their_lines_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "guardrails.yaml"
    path.write_text(BROKEN.replace('"@acme/fraud"', "acme/fraud").replace("dney", "deny")
                    .replace("{more_than: 3}", "{effect: countries_changed, more_than: 3}"), encoding="utf-8")
    guardrails, problems = load_guardrails(path, targets=["prod", "staging"])
    assert guardrails is None
    assert [(d.line, d.column, d.code, d.message) for d in problems] == [
        (2, 19, "unknown-country", "country_lists.high_risk[1]: 'UK' is not an ISO 3166-1 alpha-2 code AWS supports"),
        (5, 80, "guardrail-unknown-list", "rules[0].when.countries_in: no country list 'high_rsk'"),
        (7, 11, "guardrail-duplicate-rule", "rules[1].name: rule 'high-risk-sms' is already declared (rules[0])"),
        (8, 52, "guardrail-filter-not-applicable",
         "rules[1].when.capability: the effect end_user_opt_out_coverage_lost has no capability"),
        (11, 57, "guardrail-unknown-target", "rules[2].when.targets[1]: the policy declares no target 'qa'"),
    ]
    assert problems[1].hint == "did you mean 'high_risk'?"


def test_validate_reports_the_guardrails_with_the_policy_and_the_policy_ignores_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    policy, problems = load_policy(config)  # guardrails.yaml is not a policy file
    assert policy is not None and problems == []
    assert main(["validate", "--config", str(config)]) == 0
    capsys.readouterr()
    (config / "guardrails.yaml").write_text("rules:\n  - name: x\n    when: {effect: countries_changed, targets: [qa]}\n"
                                            "    verdict: warn\n", encoding="utf-8")
    assert main(["validate", "--config", str(config), "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert "::error file=" in out and "guardrails.yaml,line=3,col=49,title=guardrail-unknown-target::" in out
    assert "invalid (1 error, 0 warnings)" in out


def test_the_schema_command_prints_the_guardrails_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "guardrails"]) == 0
    assert '"urn:sms-policy-reconciler:schema:guardrails"' in capsys.readouterr().out
