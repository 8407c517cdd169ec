"""Which guardrail rules a set of plans (one per target) sets off (pure: no I/O).

Each rule reads one effect of the plan JSON (docs/plan-json.md): the ``effects`` summary for
countries, overrides and end-user opt-out coverage, the changes' flags for dropped opt-out lists
and external share principals. A rule whose input the plan does not carry (a version-1 plan
without ``effects``, or an ``--only`` plan that did not read the effect's areas) is an error:
a guardrail that cannot look must never pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.areas.base import declared_types
from reconciler.countries import name as country_name
from reconciler.guardrails.model import (
    COUNTRY_EFFECTS,
    EXTERNAL_PRINCIPALS,
    INPUT_AREAS,
    OPT_OUT_COVERAGE,
    OVERRIDES,
    VERDICT_ORDER,
    Evaluation,
    Finding,
    Guardrails,
    Rule,
)
from reconciler.plan import FLAG_BLOCKED, FLAG_EXTERNAL_PRINCIPALS, FLAG_OPENS_COUNTRY, PHASE_BLOCKS, Plan

COUNTRIES_SHOWN = 10
EMERGENCY_EXEMPTION = "the plan only blocks countries: the emergency fast path waits for no approval"


class MissingInput(Exception):
    """Rules that cannot be evaluated on these plans, one message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _countries_text(codes: Sequence[str]) -> str:
    shown = [f"{country_name(c)} ({c})" for c in codes[:COUNTRIES_SHOWN]]
    more = len(codes) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more else "")


def _country_effect(rule: Rule, effects: dict[str, Any]) -> tuple[int, str]:
    kinds = COUNTRY_EFFECTS[rule.effect]
    codes: dict[str, None] = {}  # insertion-ordered: the effect summary's order, riskiest first
    capabilities: set[str] = set()
    for entry in effects.get("countries", []):
        if entry["kind"] not in kinds or (rule.capabilities is not None and entry["capability"] not in rule.capabilities):
            continue
        for country in entry["countries"]:
            if rule.countries is None or country["code"] in rule.countries:
                codes.setdefault(str(country["code"]), None)
                capabilities.add(str(entry["capability"]))
    listed = list(codes)
    what = rule.effect.removeprefix("countries_").replace("_", " ")
    on = "/".join(sorted(capabilities))
    of_list = f" on list {rule.countries_in}" if rule.countries_in else ""
    return len(listed), f"{len(listed):,} countr{'y' if len(listed) == 1 else 'ies'}{of_list} {what} for {on}: {_countries_text(listed)}"


def _override_effect(rule: Rule, effects: dict[str, Any]) -> tuple[int, str]:
    numbers = 0
    codes: dict[str, None] = {}
    for entry in effects.get("overrides", []):
        if rule.countries is None or entry["country"] in rule.countries:
            numbers += int(entry["numbers"])
            codes.setdefault(str(entry["country"]), None)
    return numbers, f"{numbers:,} number override(s) let messages through to blocked {_countries_text(list(codes))}"


def _opt_out_effect(plan: Plan, effects: dict[str, Any]) -> tuple[int, str, bool]:
    """(recipients who replied STOP and become reachable, the sentence, whether some could not be counted)."""
    reachable = 0
    identities = 0
    unknown = 0
    for entry in effects.get("opt_outs", []):
        if entry.get("end_user_opt_outs") is None:
            unknown += 1
        elif entry.get("newly_reachable"):
            reachable += int(entry["newly_reachable"])
            identities += 1
    drops = declared_types("end_user_drop_flags")
    dropped = sum(int(c.data.get("end_user_opt_outs", 0) or 0) for c in plan.changes
                  if not drops.isdisjoint(c.flags) and FLAG_BLOCKED not in c.flags)
    parts = []
    if reachable:
        parts.append(f"{reachable:,} recipient(s) who replied STOP could be messaged again by {identities:,} "
                     f"identit{'y' if identities == 1 else 'ies'} moving to a list that lacks their opt-outs")
    if dropped:
        parts.append(f"{dropped:,} end-user opt-out(s) dropped with a deleted opt-out list")
    if unknown:
        parts.append(f"{unknown:,} identit{'y' if unknown == 1 else 'ies'} change opt-out list but the end-user "
                     "opt-outs were not read, so the loss cannot be counted")
    return reachable + dropped, "; ".join(parts), bool(unknown)


def _principals(plan: Plan) -> list[str]:
    found: dict[str, None] = {}
    for change in plan.changes:
        if FLAG_EXTERNAL_PRINCIPALS not in change.flags or FLAG_BLOCKED in change.flags:
            continue
        share = str(change.data.get("name", ""))
        if change.action == "add":  # one principal joins a share
            found.setdefault(f"{change.after} ({share})", None)
        else:  # a new share, or external principals allowed on an existing one: all its principals
            for principal in change.data.get("principals") or []:
                found.setdefault(f"{principal} ({share})", None)
    return list(found)


def _missing(rule: Rule, plan: Plan) -> str | None:
    if plan.effects is None and rule.effect != EXTERNAL_PRINCIPALS:
        return (f"rule {rule.name}: the plan of target {plan.target} has no effect summary (a version-1 plan?): "
                f"plan again with this version of the reconciler")
    missing = [area for area in INPUT_AREAS[rule.effect] if area not in plan.areas]
    if missing:
        return (f"rule {rule.name}: the plan of target {plan.target} did not read {', '.join(missing)} "
                f"(planned with --only?), so {rule.effect} is not known: plan every area")
    return None


def _fires(rule: Rule, plan: Plan) -> tuple[int, str] | None:
    effects = plan.effects or {}
    if rule.effect in COUNTRY_EFFECTS:
        count, text = _country_effect(rule, effects)
    elif rule.effect == OVERRIDES:
        count, text = _override_effect(rule, effects)
    elif rule.effect == OPT_OUT_COVERAGE:
        count, text, unknown = _opt_out_effect(plan, effects)
        if unknown:  # cannot be told: the strictest reading, the rule fires
            return count, f"{plan.target}: {text}"
    else:
        principals = _principals(plan)
        count, text = len(principals), (f"{len(principals):,} principal(s) gain a share open to principals outside "
                                        f"the organization: {', '.join(principals)}")
    return (count, f"{plan.target}: {text}") if count > rule.more_than else None


def blocks_only(plans: Iterable[Plan]) -> bool:
    """Every change of every plan blocks (phase 0, nothing opened): an emergency block."""
    changes = [c for p in plans for c in p.changes]
    return bool(changes) and all(c.phase == PHASE_BLOCKS and FLAG_OPENS_COUNTRY not in c.flags for c in changes)


def evaluate(guardrails: Guardrails, plans: Sequence[Plan]) -> Evaluation:
    """The rules ``plans`` set off, most severe first; raises :class:`MissingInput` listing every
    rule that cannot be evaluated."""
    problems: list[str] = []
    findings: list[Finding] = []
    exempt = EMERGENCY_EXEMPTION if blocks_only(plans) else None
    for rule in guardrails.rules:
        count = 0
        details: list[str] = []
        for plan in sorted(plans, key=lambda p: p.target):
            if rule.targets is not None and plan.target not in rule.targets:
                continue
            problem = _missing(rule, plan)
            if problem:
                problems.append(problem)
                continue
            fired = _fires(rule, plan)
            if fired:
                count += fired[0]
                details.append(fired[1])
        if details:
            findings.append(Finding(rule, count, tuple(details), exempt if rule.verdict == "needs-approval" else None))
    if problems:
        raise MissingInput(problems)
    # Most severe first; stable, so rules keep the file's order within a verdict.
    findings.sort(key=lambda f: (VERDICT_ORDER.index(f.verdict), f.exempt is not None))
    return Evaluation(findings, len(guardrails.rules))
