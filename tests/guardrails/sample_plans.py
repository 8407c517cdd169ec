"""Plans for guardrail tests, their effects computed by the real effect model (as the engine does)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reconciler.effects.opt_out_reach import Identity, ReachState, with_lists
from reconciler.effects.summary import Configuration, ProtectModel, summarise
from reconciler.plan import (
    FLAG_BLOCKS_COUNTRY,
    FLAG_EXTERNAL_PRINCIPALS,
    FLAG_OPENS_COUNTRY,
    ORDER_SHARE,
    ORDER_UPDATE,
    PHASE_BLOCKS,
    Change,
    Plan,
)
from reconciler.report.json_report import save

AREAS = ["protect", "phone_numbers", "shares", "opt_outs"]
COUNTRIES = ["AU", "DE", "FR", "GB", "NG", "PK", "US"]
GUARDRAILS = """\
# yaml-language-server: $schema=../schemas/guardrails.schema.json
country_lists:
  high_risk: [NG, PK]
rules:
  - name: high-risk-sms
    description: Opening SMS to a high-risk destination needs the fraud team.
    when: {effect: countries_newly_reachable, capability: [SMS], countries_in: high_risk}
    verdict: {needs-approval: acme/fraud}
  - name: opt-out-coverage
    description: A recipient who replied STOP must never be messaged again.
    when: {effect: end_user_opt_out_coverage_lost}
    verdict: deny
  - name: external-sharing
    when: {effect: external_principals}
    verdict: {needs-approval: acme/security}
  - name: many-countries
    when: {effect: countries_changed, more_than: 3}
    verdict: warn
"""


def rules(capability: str, updates: dict[str, tuple[str, str]], config: str = "prod-default") -> Change:
    """A country-rules change shaped like the protect area's."""
    opens = any(b == "BLOCK" and a != "BLOCK" for b, a in updates.values())
    blocks = all(a == "BLOCK" for _, a in updates.values())
    flags = {FLAG_OPENS_COUNTRY} if opens else ({FLAG_BLOCKS_COUNTRY} if blocks else set())
    return Change("protect", "update", "country-rules", f"protect/{config}/rules/{capability}" + ("/block" if blocks else ""),
                  {c: b for c, (b, _) in updates.items()}, {c: a for c, (_, a) in updates.items()},
                  phase=PHASE_BLOCKS if blocks else 1, order=ORDER_UPDATE, flags=frozenset(flags),
                  data={"name": config, "capability": capability, "updates": {c: a for c, (_, a) in updates.items()}})


def protect_plan(changes: list[Change], blocked: dict[str, str] | None = None, target: str = "prod") -> Plan:
    live = ProtectModel([Configuration("protect-1", "prod-default", True,
                                       {"SMS": dict(blocked or {}), "VOICE": {}, "MMS": {}}, {})], {"promo": None})
    plan = Plan(target=target, changes=changes, account_id="111122223333", region="us-east-1", areas=list(AREAS))
    plan.effects = summarise(live, changes, COUNTRIES)
    return plan


def high_risk_plan(target: str = "prod") -> Plan:
    """Opens SMS to Nigeria (high risk) and Australia: both were blocked."""
    return protect_plan([rules("SMS", {"AU": ("BLOCK", "ALLOW"), "NG": ("BLOCK", "ALLOW")})],
                        {"AU": "BLOCK", "NG": "BLOCK"}, target)


def emergency_plan() -> Plan:
    return protect_plan([rules("SMS", {"NG": ("ALLOW", "BLOCK"), "PK": ("ALLOW", "BLOCK")}),
                         rules("VOICE", {"NG": ("ALLOW", "BLOCK"), "PK": ("ALLOW", "BLOCK")})])


def many_countries_plan() -> Plan:
    return protect_plan([rules("VOICE", {c: ("ALLOW", "MONITOR") for c in ("AU", "DE", "FR", "GB", "US")})])


def opt_out_loss_plan() -> Plan:
    """A number leaves Default (3 recipients replied STOP there) for marketing, which has only one of them."""
    change = Change("phone_numbers", "update", "phone-number", "phone_numbers/phone-0a1b2c/opt_out_list",
                    {"opt_out_list": "Default"}, {"opt_out_list": "marketing"}, order=ORDER_UPDATE,
                    data={"id": "phone-0a1b2c"})
    stops = frozenset({"+12065550100", "+12065550101", "+12065550102"})
    before = ReachState((Identity("phone-number", "phone-0a1b2c"),), {}, {"Default": stops}, {"Default": stops})
    after = with_lists(replace(before, entries={"marketing": frozenset({"+12065550100"})}), {"phone-0a1b2c": "marketing"}, {})
    plan = Plan(target="prod", changes=[change], account_id="111122223333", region="us-east-1", areas=list(AREAS))
    plan.effects = summarise(None, plan.changes, [], (before, after))
    return plan


def external_share_plan() -> Plan:
    change = Change("shares", "add", "share-principal", "shares/partner/principal/999988887777", None, "999988887777",
                    order=ORDER_SHARE, flags=frozenset({FLAG_EXTERNAL_PRINCIPALS}),
                    data={"name": "partner", "entity": "999988887777"})
    plan = Plan(target="prod", changes=[change], account_id="111122223333", region="us-east-1", areas=list(AREAS))
    plan.effects = summarise(None, plan.changes, [])
    return plan


def saved(tmp_path: Path, name: str, *plans: Plan) -> str:
    path = tmp_path / name
    save(list(plans), path)
    return str(path)


def guardrails_file(tmp_path: Path, text: str = GUARDRAILS) -> str:
    path = tmp_path / "guardrails.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)
