"""Golden Markdown reports: what reviewers see in pull requests and drift issues.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 python -m pytest tests/report`` and
review the diff of ``tests/report/golden/`` like any other change.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.areas.protect.associations import FLAG_ACCOUNT_DEFAULT
from reconciler.effects.opt_out_reach import Identity, ReachState, with_lists
from reconciler.effects.summary import Configuration, ProtectModel, summarise
from reconciler.plan import (
    FLAG_BLOCKS_COUNTRY,
    FLAG_DELETION_PROTECTION_OFF,
    FLAG_EXTERNAL_PRINCIPALS,
    FLAG_NEEDS_FORCE,
    FLAG_OPENS_COUNTRY,
    ORDER_ASSOCIATE,
    ORDER_CREATE,
    ORDER_DELETE,
    ORDER_MEMBERS_ADD,
    ORDER_SHARE,
    ORDER_UPDATE,
    PHASE_BLOCKS,
    Change,
    Plan,
)
from reconciler.report.markdown import LIMIT, render

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def rule(config: str, capability: str, country: str, before: str, after: str, reason: str | None = None) -> Change:
    """A country-rules change shaped like the protect area's (maps of the changing countries)."""
    flags = set()
    if after == "BLOCK" and before != "BLOCK":
        flags.add(FLAG_BLOCKS_COUNTRY)
    if before == "BLOCK" and after != "BLOCK":
        flags.add(FLAG_OPENS_COUNTRY)
    data: dict[str, object] = {"name": config, "capability": capability, "updates": {country: after}}
    if reason:
        data["reason"] = reason
    suffix = "/block" if after == "BLOCK" else ""
    return Change(
        "protect", "update", "country-rules", f"protect/{config}/rules/{capability}{suffix}", {country: before},
        {country: after}, phase=PHASE_BLOCKS if after == "BLOCK" else 1, order=ORDER_UPDATE, flags=frozenset(flags),
        data=data,
    )


def target(name: str, changes: list[Change], **extra: object) -> Plan:
    return Plan(target=name, changes=changes, account_id="111122223333", region="us-east-1", **extra)  # type: ignore[arg-type]


def protect_plan() -> Plan:
    plan = target("prod", [
        rule("prod-default", "SMS", "AU", "BLOCK", "ALLOW"),
        rule("prod-default", "SMS", "NG", "ALLOW", "BLOCK"),
        rule("prod-default", "VOICE", "NG", "ALLOW", "MONITOR"),
        Change("protect", "create", "protect-configuration", "protect/marketing", None, {"name": "marketing"},
               order=ORDER_CREATE, summary="create protect configuration marketing"),
        Change("protect", "update", "account-default", "protect/account-default", "prod-default", "marketing",
               order=ORDER_ASSOCIATE, flags=frozenset({FLAG_ACCOUNT_DEFAULT, FLAG_NEEDS_FORCE})),
        Change("protect", "update", "deletion-protection", "protect/legacy/deletion-protection", True, False,
               order=ORDER_UPDATE, flags=frozenset({FLAG_DELETION_PROTECTION_OFF, FLAG_NEEDS_FORCE})),
        Change("protect", "delete", "protect-configuration", "protect/legacy", {"name": "legacy"}, None, order=ORDER_DELETE),
        Change("protect", "associate", "configuration-set", "protect/marketing/config-set/promo", None, "marketing",
               order=ORDER_ASSOCIATE),
    ], strategies={"protect": "described 3 configurations, 6 rule sets"})
    # The effect of the rule changes on the live state they were planned from (the real model).
    live = ProtectModel([Configuration("protect-1", "prod-default", True, {"SMS": {"AU": "BLOCK"}, "VOICE": {}}, {})],
                        {"promo": None})
    plan.effects = summarise(live, plan.changes, ["AU", "NG", "US"])
    return plan


def phone_plan() -> Plan:
    return target("prod", [
        Change("phone_numbers", "update", "phone-number", "phone_numbers/phone-0a1b2c/international_sending", False, True,
               order=ORDER_UPDATE, summary="international sending on for +18445550123"),
    ])


def opt_out_plan() -> Plan:
    plan = target("prod", [
        Change("opt_outs", "create", "opt-out-list", "opt_outs/marketing", None, {"name": "marketing"}, order=ORDER_CREATE),
        Change("opt_outs", "add", "opted-out-number", "opt_outs/marketing/+1206555****", None, "+1206555****",
               order=ORDER_MEMBERS_ADD),
        Change("opt_outs", "add", "opted-out-number", "opt_outs/marketing/+4477009****", None, "+4477009****",
               order=ORDER_MEMBERS_ADD),
    ], strategies={"opt_outs": "looked up 2 listed numbers (1 call)"})
    # A number leaves Default (3 recipients replied STOP there) for marketing, which has only one of them.
    stops = frozenset({"+12065550100", "+12065550101", "+12065550102"})
    before = ReachState((Identity("phone-number", "phone-0a1b2c"),), {}, {"Default": stops}, {"Default": stops})
    after = with_lists(replace(before, entries={"marketing": frozenset({"+12065550100"})}), {"phone-0a1b2c": "marketing"}, {})
    plan.effects = summarise(None, plan.changes, [], (before, after))
    return plan


def share_plan() -> Plan:
    return target("prod", [
        Change("shares", "create", "resource-share", "shares/sandbox-optouts", None, {"name": "sandbox-optouts"}, order=ORDER_SHARE),
        Change("shares", "associate", "share-principal", "shares/sandbox-optouts/principal/999988887777", None, "999988887777",
               order=ORDER_SHARE, flags=frozenset({FLAG_EXTERNAL_PRINCIPALS})),
        Change("shares", "associate", "share-resource", "shares/sandbox-optouts/resource/opt-out-list/marketing", None,
               "arn:aws:sms-voice:us-east-1:111122223333:opt-out-list/marketing", order=ORDER_SHARE),
    ])


def emergency_plan() -> Plan:
    reason = "SMS pumping from +23480 numbers, incident INC-142"
    changes = [rule(config, cap, "NG", "ALLOW", "BLOCK", reason) for config in ("prod-default", "marketing")
               for cap in ("SMS", "VOICE")]
    return target("prod", changes)


def test_each_area_golden() -> None:
    plans = [protect_plan(), phone_plan(), opt_out_plan(), share_plan()]
    merged = target("prod", [c for p in plans for c in p.changes],
                    strategies={**plans[0].strategies, **plans[2].strategies},
                    warnings=["2 unmanaged protect configurations left alone"],
                    unmanaged=[{"area": "protect", "type": "protect-configuration", "id": "protect-1"}])
    staging = Plan(target="staging", account_id="444455556666", region="eu-west-2")
    text = render([merged, staging], artifact_url="https://github.com/acme/policy/actions/runs/42")
    check_golden("areas.md", text)
    assert text.index("change(s) in this pull request") < text.index("#### Review carefully") < text.index("### Target")
    assert "**Opens** AU (Australia) for SMS on `prod-default` (BLOCK → ALLOW)" in text
    assert "**Blocks** NG (Nigeria) for SMS on `prod-default`" in text
    assert "**Deletes** protect-configuration `protect/legacy`" in text
    assert "**Turns deletion protection off**" in text
    assert "**Changes the account default**" in text
    assert "**Shares outside the organization**" in text


@pytest.mark.parametrize(
    ("name", "plan"),
    [("protect.md", protect_plan), ("phone_numbers.md", phone_plan), ("opt_outs.md", opt_out_plan),
     ("shares.md", share_plan), ("emergency.md", emergency_plan)],
)
def test_single_area_golden(name: str, plan: object) -> None:
    assert callable(plan)
    check_golden(name, render([plan()]))


def test_emergency_block_shows_reason_and_every_configuration() -> None:
    text = render([emergency_plan()])
    for config in ("prod-default", "marketing"):
        for cap in ("SMS", "VOICE"):
            assert f"**Blocks** NG (Nigeria) for {cap} on `{config}` (ALLOW → BLOCK): SMS pumping from +23480 numbers" in text


def test_no_op_golden() -> None:
    text = render([Plan(target="prod", account_id="111122223333", region="us-east-1")])
    check_golden("noop.md", text)
    assert "**0 change(s) in this pull request**" in text and "No changes." in text


def test_huge_membership_change_stays_under_githubs_limit() -> None:
    changes = [
        Change("opt_outs", "add", "opted-out-number", f"opt_outs/bulk/+1206{i:07d}"[:-4] + f"****#{i}", None,
               f"+1206{i:07d}"[:-4] + "****", order=ORDER_MEMBERS_ADD)
        for i in range(200_000)
    ]
    changes.append(rule("prod-default", "SMS", "AU", "BLOCK", "ALLOW"))
    text = render([target("prod", changes)], artifact_url="https://github.com/acme/policy/actions/runs/43")
    assert len(text) < LIMIT < 65_535
    assert "**200,001 change(s) in this pull request**" in text
    assert "- 200,000 × add opted-out-number" in text
    assert "… and 199,900 more in the full report (artifact)." in text
    assert "**Opens** AU (Australia)" in text  # highlights survive the summarising
    check_golden("huge.md", text)


def test_thousands_of_highlights_are_summarised() -> None:
    changes = [rule(f"cfg-{n:03d}", cap, country, "BLOCK", "ALLOW")
               for n in range(60) for cap in ("SMS", "VOICE", "MMS", "RCS") for country in ("AU", "NZ", "GB", "FR", "DE")]
    text = render([target("prod", changes)])
    assert len(text) < LIMIT
    assert "more in the full report (artifact)" in text


def test_drift_report_golden() -> None:
    drift = target("prod", [
        rule("prod-default", "SMS", "NG", "BLOCK", "ALLOW"),  # someone blocked NG in the console
        Change("phone_numbers", "update", "phone-number", "phone_numbers/phone-0a1b2c/international_sending", True, False,
               order=ORDER_UPDATE),
    ], unmanaged=[{"area": "protect", "type": "protect-configuration", "id": "protect-9", "name": "console-test"}])
    text = render([drift], mode="drift", title="SMS policy drift: prod")
    check_golden("drift.md", text)
    assert "**2 drifted item(s)**" in text
    assert "| Action | Resource | Live | Policy on main |" in text
    assert "**Live has blocked** NG (Nigeria)" in text


def test_pull_request_changes_are_separated_from_base_drift() -> None:
    console_block = rule("prod-default", "SMS", "NG", "BLOCK", "ALLOW")  # live blocked NG; main says ALLOW
    console_flag = Change("phone_numbers", "update", "phone-number", "phone_numbers/p1/international_sending", True, False)
    base = target("prod", [console_block, console_flag])
    # The PR opens AU and folds the console's NG block into git (so NG is no longer a change).
    pr = target("prod", [rule("prod-default", "SMS", "AU", "BLOCK", "ALLOW"), console_flag])
    text = render([pr], base_drift=[base])
    check_golden("pr_vs_drift.md", text)
    assert "**1 change(s) in this pull request** across 1 target(s); **2 already drifted** on the base branch" in text
    review = text.split("#### Review carefully", 1)[1].split("### Target", 1)[0]
    assert "AU (Australia)" in review and "NG" not in review  # drift never presented as the PR's change
    assert "Drift already present on the base branch" in text
    assert "folds 1 drifted item(s) back into git" in text


def test_user_strings_are_escaped() -> None:
    evil = "x<script>alert(1)</script>`rm -rf`|pipe|**bold** [link](http://evil)"
    plan = target("prod", [
        Change("protect", "create", "protect-configuration", f"protect/{evil}", None, {"name": evil}, summary=evil),
        rule(evil, "SMS", "AU", "BLOCK", "ALLOW", reason=evil),
    ], warnings=[evil])
    text = render([plan], title=evil)
    assert "<script>" not in text and "</script>" not in text
    assert "&lt;script>" in text and "&lt;/script>" in text
    assert "`rm" not in text.replace("\\`", "")  # every user backtick is escaped
    assert "[link](http" not in text.replace("\\[link\\](http", "")
    for line in text.splitlines():
        if line.startswith("| ") and "create" in line:
            # Exactly the 5 table pipes: user pipes are escaped.
            assert line.replace("\\|", "").count("|") == 5
    check_golden("escaping.md", text)


def test_phone_numbers_are_masked_even_if_an_area_forgot() -> None:
    plan = target("prod", [
        Change("opt_outs", "add", "opted-out-number", "opt_outs/list/+12065550123", None, "+12065550123",
               summary="add +447700900123 to list"),
    ], warnings=["number +61491570156 is opted out"])
    text = render([plan])
    for raw in ("+12065550123", "+447700900123", "+61491570156", "0123", "0156"):
        assert raw not in text
    assert "`opt_outs/list/+1206555****`" in text  # inside code spans
    assert "| +1206555\\*\\*\\*\\* |" in text  # escaped text elsewhere
    assert "number +6149157\\*\\*\\*\\* is opted out" in text
    assert "add +44770090\\*\\*\\*\\* to list" in text


def test_a_rule_map_mixing_pr_and_drift_countries_is_split() -> None:
    """The protect area batches a capability's countries; the PR's and the drift's are told apart."""
    base = target("prod", [rule("prod-default", "SMS", "NG", "BLOCK", "ALLOW")])  # NG blocked in the console
    mixed = Change(
        "protect", "update", "country-rules", "protect/prod-default/rules/SMS", {"AU": "BLOCK", "NG": "BLOCK"},
        {"AU": "ALLOW", "NG": "ALLOW"}, order=ORDER_UPDATE, flags=frozenset({FLAG_OPENS_COUNTRY}),
        data={"name": "prod-default", "capability": "SMS", "updates": {"AU": "ALLOW", "NG": "ALLOW"}},
    )
    text = render([target("prod", [mixed])], base_drift=[base])
    check_golden("pr_vs_drift_mixed.md", text)
    review = text.split("#### Review carefully", 1)[1].split("### Target", 1)[0]
    assert "- `prod`: **Opens** AU (Australia) for SMS on `prod-default` (BLOCK → ALLOW)\n" in review
    assert "**Opens** NG (Nigeria) for SMS on `prod-default` (BLOCK → ALLOW) (drift already on the base branch, not this pull request)" in review
    assert review.index("AU (Australia)") < review.index("NG (Nigeria)")
    assert "| update | `protect/prod-default/rules/SMS` | AU: BLOCK | AU: ALLOW |" in text
    assert "| update | `protect/prod-default/rules/SMS` | NG: BLOCK | NG: ALLOW |" in text


def test_emergency_reasons_per_country_are_shown_beside_their_countries() -> None:
    """One block change may mix an emergency block (with its reason) and a policy BLOCK."""
    change = Change(
        "protect", "update", "country-rules", "protect/prod-default/rules/SMS/block",
        {"NG": "MONITOR", "NZ": "ALLOW", "GH": "ALLOW"}, {"NG": "BLOCK", "NZ": "BLOCK", "GH": "BLOCK"},
        phase=PHASE_BLOCKS, order=ORDER_UPDATE, flags=frozenset({FLAG_BLOCKS_COUNTRY}),
        data={"name": "prod-default", "capability": "SMS", "reasons": {"NG": "pumping <INC-9>", "GH": "pumping <INC-9>"}},
    )
    text = render([target("prod", [change])])
    assert "**Blocks** GH (Ghana) for SMS on `prod-default` (ALLOW → BLOCK): pumping &lt;INC-9>" in text
    assert "**Blocks** NZ (New Zealand) for SMS on `prod-default` (ALLOW → BLOCK)\n" in text
    assert "**Blocks** NG (Nigeria) for SMS on `prod-default` (MONITOR → BLOCK): pumping &lt;INC-9>" in text


def test_drift_wording_says_what_live_did() -> None:
    """In a drift report live is "before": a deletion or protection change is live's doing."""
    changes = [
        Change("protect", "update", "protect-configuration", "protect/prod-default/deletion-protection", True, False,
               flags=frozenset({FLAG_DELETION_PROTECTION_OFF}), order=ORDER_UPDATE),
        Change("shares", "delete", "resource-share", "shares/console-share", {"name": "console-share"}, None,
               order=ORDER_DELETE),
    ]
    drift = render([target("prod", changes)], mode="drift")
    assert "**Live has deletion protection on** where main turns it off: `protect/prod-default/deletion-protection`" in drift
    assert "**Live has** resource-share `shares/console-share`, which main would delete" in drift
    plan = render([target("prod", changes)])
    assert "**Turns deletion protection off** on `protect/prod-default/deletion-protection`" in plan
    assert "**Deletes** resource-share `shares/console-share`" in plan


def test_full_report_for_the_artifact_lists_every_change() -> None:
    changes = [
        Change("opt_outs", "add", "opted-out-number", f"opt_outs/bulk/+1206555{i:04d}"[:-4] + f"****#{i}", None,
               "+1206555****", order=ORDER_MEMBERS_ADD)
        for i in range(3000)
    ]
    full = render([target("prod", changes)], full=True)
    assert len(full) > LIMIT
    assert "more in the full report" not in full
    assert full.count("| add | `opt_outs/bulk/+1206555****#") == 3000
    assert len(render([target("prod", changes)])) < LIMIT


def test_guardrail_verdicts_come_first_golden() -> None:
    """A pull request that opens a high-risk country and moves a number off its STOPs: the reviewer
    sees the verdicts first, then the effect with the country first, then the changes."""
    from reconciler.guardrails.evaluate import evaluate
    from reconciler.guardrails.loader import load_guardrails
    from reconciler.guardrails.render import markdown as verdicts_markdown
    from reconciler.guardrails.render import to_json

    rails, problems = load_guardrails(Path(__file__).resolve().parents[2] / "config" / "guardrails.yaml")
    assert rails is not None and not problems
    moves = Change("phone_numbers", "update", "phone-number", "phone_numbers/phone-0a1b2c/opt_out_list",
                   {"opt_out_list": "Default"}, {"opt_out_list": "marketing"}, order=ORDER_UPDATE,
                   summary="update phone-0a1b2c: opt_out_list Default -> marketing")
    plan = target("prod", [rule("prod-default", "SMS", "NG", "BLOCK", "ALLOW"), moves, *opt_out_plan().changes],
                  areas=["protect", "phone_numbers", "shares", "opt_outs"])
    live = ProtectModel([Configuration("protect-1", "prod-default", True, {"SMS": {"NG": "BLOCK"}, "VOICE": {}}, {})], {})
    effects = summarise(live, plan.changes, ["NG", "US"])
    plan.effects = {**effects, "opt_outs": opt_out_plan().effects["opt_outs"]}  # type: ignore[index]
    evaluation = evaluate(rails, [plan])
    waiting = render([plan], guardrails=verdicts_markdown(to_json(evaluation)))
    check_golden("guardrails.md", waiting)
    assert waiting.index("#### Guardrails") < waiting.index("#### Effect") < waiting.index("Nigeria (NG) BLOCK -> ALLOW")
    assert "⏳ **Needs approval from `acme/fraud`** (`high-risk-sms`)" in waiting
    assert "⛔ **Denied** (`opt-out-coverage`)" in waiting
    # After the fraud team's approval (as `github guardrails --out` records it):
    approved = render([plan], guardrails=verdicts_markdown(to_json(evaluation, {"high-risk-sms": "@fiona"})))
    check_golden("guardrails_approved.md", approved)
    assert "✅ **Approved by `@fiona` (`acme/fraud`)** (`high-risk-sms`)" in approved
