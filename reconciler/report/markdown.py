"""Markdown reports for pull-request comments, drift issues and job summaries.

Readable as plain text too (an e-mail notification shows the raw Markdown): summary first,
then what a reviewer must not miss, then one collapsible section per policy area.

Every user-controlled string (names, keys, reasons, values) is escaped for both Markdown and
HTML, and every phone number is masked, whatever the area put in the change. The result stays
below GitHub's 65,535-character limit: rows are cut first, then details, and the reader is
pointed to the full report in the artifact.
"""

from __future__ import annotations

import dataclasses
import html
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.plan import (
    FLAG_BLOCKED,
    FLAG_BLOCKS_COUNTRY,
    FLAG_DELETION_PROTECTION_OFF,
    FLAG_EXTERNAL_PRINCIPALS,
    FLAG_NEEDS_FORCE,
    FLAG_OPENS_COUNTRY,
    Change,
    Plan,
)
from reconciler.report import security
from reconciler.report.area_report import Mode, area_reports
from reconciler.report.effects import RISKY
from reconciler.report.effects import sections as effect_sections
from reconciler.report.escape import markdown_code, markdown_document, markdown_text
from reconciler.report.mask import mask_text

# GitHub refuses bodies over 65,536 characters; keep room for the marker and a safety margin.
LIMIT = 60_000
CELL_CHARS = 160
UNTRUSTED_FORK_BANNER = (
    "> [!CAUTION]\n"
    "> **Untrusted fork: this plan was computed by the fork's own workflow run, against the committed sandbox "
    "snapshot, not live AWS.** The fork controls that run and could have changed what it reports; this "
    "repository's workflow only checked the plan file against the plan schema and rendered it. Review the "
    "policy diff itself; a maintainer can run the real plan from the base branch's code before merging."
)


def mask(text: str) -> str:
    """Mask every raw phone number in ``text``; already-masked ones are left as they are."""
    return mask_text(text)


# Escaping is owned by reconciler.report.escape (one module per channel); these are its Markdown rules.
esc = markdown_text
code = markdown_code


def fmt_value(value: Any) -> str:
    if value is None or (isinstance(value, dict | list | str) and not value):
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    return esc(value)


# -- the PR / drift split -------------------------------------------------------------------------


def _is_map_change(change: Change) -> bool:
    """Changes that batch several members (``AreaReport.member_maps``, e.g. country rule updates)."""
    report = area_reports().get(change.area)
    return (
        isinstance(change.after, dict)
        and isinstance(change.before, dict | None)
        and report is not None
        and change.resource_type in report.member_maps
    )


def _base_key(change: Change) -> tuple[str, str, str]:
    # An area may split one rule's update into parts (``AreaReport.rule_key``); all describe one rule.
    report = area_reports().get(change.area)
    key = report.rule_key(change.key) if report is not None and report.rule_key is not None else change.key
    return (change.area, change.resource_type, key)


def _atoms(change: Change) -> dict[tuple[str, ...], str]:
    """The change's smallest comparable facts: member -> JSON of its new value."""
    if _is_map_change(change):
        return {(*_base_key(change), str(m)): json.dumps(v, sort_keys=True, default=str) for m, v in change.after.items()}
    return {(*_base_key(change), ""): json.dumps([change.action, change.after], sort_keys=True, default=str)}


def _restrict(change: Change, members: list[str]) -> Change:
    before = change.before if isinstance(change.before, dict) else {}
    return replace(
        change,
        before={m: before[m] for m in members if m in before},
        after={m: change.after[m] for m in members},
    )


@dataclass
class TargetReport:
    """One target's changes, split into what the pull request does and what was already drift."""

    plan: Plan
    own: list[Change]  # this pull request's changes (or, in drift mode, the drift)
    kept_drift: list[Change]  # drift on the base branch that the plan would also revert
    resolved_drift: list[Change]  # base drift that this pull request folds back into git
    has_base: bool


def split(plan: Plan, base: Plan | None) -> TargetReport:
    """Separate the plan's changes into the pull request's own and the base branch's drift.

    ``base`` is the base branch's policy planned against the same live state: each of its
    changes is drift. A plan change whose every fact (per country for rule maps) also appears in
    ``base`` is drift the plan would revert too; facts ``base`` has but the plan lacks are drift the
    pull request folds back into git.
    """
    changes = plan.sorted_changes()
    if base is None:
        return TargetReport(plan, changes, [], [], False)
    drift: dict[tuple[str, ...], str] = {}
    for change in base.changes:
        drift.update(_atoms(change))
    own: list[Change] = []
    kept: list[Change] = []
    plan_facts: set[tuple[str, ...]] = set()
    for change in changes:
        atoms = _atoms(change)
        plan_facts.update(atoms)
        same = [fact for fact, value in atoms.items() if drift.get(fact) == value]
        if not same:
            own.append(change)
        elif len(same) == len(atoms):
            kept.append(change)
        else:  # a rule map mixing this pull request's countries with drifted ones
            drifted = {fact[-1] for fact in same}
            members = [str(m) for m in change.after]
            own.append(_restrict(change, [m for m in members if m not in drifted]))
            kept.append(_restrict(change, [m for m in members if m in drifted]))
    resolved: list[Change] = []
    for change in base.sorted_changes():
        atoms = _atoms(change)
        gone = [fact for fact in atoms if fact not in plan_facts]
        if len(gone) == len(atoms):
            resolved.append(change)
        elif gone:
            resolved.append(_restrict(change, [fact[-1] for fact in gone]))
    return TargetReport(plan, own, kept, resolved, True)


# -- highlights ---------------------------------------------------------------------------------


def highlights(change: Change, mode: Mode) -> list[tuple[int, str]]:
    """(rank, line) for what a reviewer must not miss in ``change``. Lower ranks are listed first."""
    flags = change.flags
    what = describe_change(change)
    report = area_reports().get(change.area)
    if report is not None and report.highlights is not None:
        lines = report.highlights(change, mode)
        if lines:
            return lines
    if FLAG_BLOCKS_COUNTRY in flags or FLAG_OPENS_COUNTRY in flags:
        return [(1, f"**{'Blocks' if FLAG_BLOCKS_COUNTRY in flags else 'Opens'}**: {what}")]
    # In a drift report "before" is live and "after" the policy: say what live did, and what
    # applying main would do about it.
    if change.action == "delete":
        if mode == "drift":
            return [(2, f"**Live has** {esc(change.resource_type)} {code(change.key)}, which main would delete")]
        return [(2, f"**Deletes** {esc(change.resource_type)} {code(change.key)}")]
    if FLAG_DELETION_PROTECTION_OFF in flags:
        if mode == "drift":
            return [(3, f"**Live has deletion protection on** where main turns it off: {code(change.key)}")]
        return [(3, f"**Turns deletion protection off** on {code(change.key)}")]
    if FLAG_EXTERNAL_PRINCIPALS in flags:
        return [(5, f"**Shares outside the organization**: {what}")]
    if FLAG_BLOCKED in flags:
        reason = (change.data or {}).get("reason", "")
        return [(6, f"**Cannot run**: {what}" + (f": {esc(reason, 400)}" if reason else ""))]
    if FLAG_NEEDS_FORCE in flags:
        return [(7, f"**Needs `--force`**: {what}")]
    return []


def describe_change(change: Change) -> str:
    """A change in a highlight line: its summary, or its action, resource type and key (escaped)."""
    if change.summary:
        return esc(change.summary)
    return f"{esc(change.action)} {esc(change.resource_type)} {code(change.key)}"


# -- rendering -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """How much detail fits: rows per area section, highlights shown, whether tables are shown."""

    rows: int
    highlights: int
    tables: bool


BUDGETS = (Budget(100, 100, True), Budget(25, 50, True), Budget(5, 30, True), Budget(0, 20, False))


def _counts(changes: Iterable[Change]) -> str:
    tally = Counter(c.action for c in changes)
    return ", ".join(f"{n:,} {action}" for action, n in sorted(tally.items())) or "none"


def _area_sections(changes: Sequence[Change], budget: Budget, mode: Mode, heading: str) -> list[str]:
    by_area: dict[str, list[Change]] = {}
    for change in changes:
        by_area.setdefault(change.area, []).append(change)
    reports = area_reports()
    known = sorted((a for a in by_area if a in reports), key=lambda a: (reports[a].order, a))
    order = known + sorted(a for a in by_area if a not in reports)
    before_label, after_label = ("Live", "Policy on main") if mode == "drift" else ("Now", "After apply")
    out: list[str] = []
    for area in order:
        items = by_area[area]
        title = reports[area].title if area in reports else esc(area)
        out.append(f"<details><summary>{html.escape(heading)}{title}: {len(items):,} ({_counts(items)})</summary>")
        out.append("")
        kinds = Counter((c.action, c.resource_type) for c in items)
        if len(kinds) > 1 or len(items) > budget.rows:
            for (action, rtype), n in sorted(kinds.items()):
                out.append(f"- {n:,} × {esc(action)} {esc(rtype)}")
            out.append("")
        if budget.tables and budget.rows:
            out.append(f"| Action | Resource | {before_label} | {after_label} |")
            out.append("| --- | --- | --- | --- |")
            for change in items[: budget.rows]:
                label = code(change.key)
                if change.summary:
                    label += f"<br>{esc(change.summary)}"
                out.append(f"| {esc(change.action)} | {label} | {fmt_value(change.before)} | {fmt_value(change.after)} |")
            if len(items) > budget.rows:
                out.append("")
                out.append(f"… and {len(items) - budget.rows:,} more in the full report (artifact).")
            out.append("")
        out.append("</details>")
        out.append("")
    return out


def _effect_section(reports: list[TargetReport], budget: Budget) -> list[str]:
    """What the plan changes in effect, per target and riskiest first: the comment's first section."""
    out: list[str] = []
    for report in reports:
        found = effect_sections(report.plan.effects)
        if not found:
            continue
        out += [f"**Target {code(report.plan.target)}**", ""]
        if report.kept_drift:
            out += ["The effect of applying this plan, which also reverts the drift already on the base branch (below).", ""]
        for title, sentences in found:
            marker = "🔴 " if title in RISKY else ""
            out.append(f"- {marker}**{esc(title)}**")
            out += [f"  - {esc(sentence, 600)}" for sentence in sentences[: budget.highlights]]
            if len(sentences) > budget.highlights:
                out.append(f"  - … and {len(sentences) - budget.highlights:,} more in the full report (artifact).")
        out.append("")
    return (["#### Effect", "", *out, "The resource-level changes follow, collapsed per area.", ""]) if out else []


def _security_section(reports: list[TargetReport], budget: Budget) -> list[str]:
    """Grants outside git, first of all: who can use which identity or list without review."""
    found = [(report.plan.target, finding) for report in reports for finding in report.plan.security]
    if not found:
        return []
    out = [f"#### 🔴 {esc(security.TITLE)}", ""]
    out += [f"- {code(target)}: {esc(security.sentence(finding), 600)}" for target, finding in found[: budget.highlights]]
    if len(found) > budget.highlights:
        out.append(f"- … and {len(found) - budget.highlights:,} more in the full report (artifact).")
    return [*out, ""]


def _target_heading(plan: Plan) -> str:
    where = ", ".join(esc(p) for p in (plan.account_id, plan.region) if p)
    return f"### Target {code(plan.target)}" + (f" ({where})" if where else "")


def _render(reports: list[TargetReport], budget: Budget, *, title: str, mode: Mode, artifact_url: str | None, fork_mode: bool,
            untrusted_fork: bool = False, guardrails: list[str] | None = None) -> str:
    out: list[str] = [f"## {esc(title, 200)}", ""]
    if untrusted_fork:
        out += [UNTRUSTED_FORK_BANNER, ""]
    elif fork_mode:
        out += [
            "> **Planned against the committed sandbox snapshot, not live AWS.** Pull requests from forks "
            "get no cloud credentials; a maintainer sees the live plan once the change is pushed to a branch "
            "of this repository.",
            "",
        ]
    out += _security_section(reports, budget)
    if mode == "plan":
        out += guardrails or []  # the verdicts first (reconciler.guardrails.render.markdown)
        out += _effect_section(reports, budget)
    # Then the changes: one line per target.
    total_own = sum(len(r.own) for r in reports)
    total_drift = sum(len(r.kept_drift) + len(r.resolved_drift) for r in reports)
    if mode == "drift":
        out.append(f"**{total_own:,} drifted item(s)** across {len(reports)} target(s).")
    else:
        line = f"**{total_own:,} change(s) in this pull request** across {len(reports)} target(s)"
        if any(r.has_base for r in reports):
            line += f"; **{total_drift:,} already drifted** on the base branch (not this pull request)"
        out.append(line + ".")
    out.append("")
    for report in reports:
        noun = "drifted item(s)" if mode == "drift" else "change(s)"
        parts = [f"{len(report.own):,} {noun} ({_counts(report.own)})" if report.own else f"no {noun}"]
        if report.kept_drift or report.resolved_drift:
            parts.append(f"{len(report.kept_drift) + len(report.resolved_drift):,} drift on base")
        if report.plan.guard_findings:
            parts.append(f"{len(report.plan.guard_findings)} guard finding(s)")
        out.append(f"- {code(report.plan.target)}: " + "; ".join(parts))
    out.append("")

    # What a reviewer must not miss, across targets.
    ranked: list[tuple[int, str, str]] = []
    for report in reports:
        for change in report.own:
            for rank, text in highlights(change, mode):
                ranked.append((rank, report.plan.target, f"- {code(report.plan.target)}: {text}"))
        for change in report.kept_drift:
            # Not this pull request's doing, but applying it reverts a live change made outside git.
            for rank, text in highlights(change, mode):
                ranked.append((rank + 10, report.plan.target, f"- {code(report.plan.target)}: {text} (drift already on the base branch, not this pull request)"))
    lines = [line for _, _, line in sorted(ranked, key=lambda item: (item[0], item[1]))]
    if lines:
        out += ["#### Review carefully", ""]
        out += lines[: budget.highlights]
        if len(lines) > budget.highlights:
            out.append(f"- … and {len(lines) - budget.highlights:,} more in the full report (artifact).")
        out.append("")

    for report in reports:
        plan = report.plan
        out += [_target_heading(plan), ""]
        for finding in plan.guard_findings:
            out.append(f"> **Apply would refuse:** {esc(finding, 400)}")
        if plan.guard_findings:
            out.append("")
        if not report.own:
            if plan.pending:
                out += [f"No changes; {len(plan.pending)} pending (not in effect until others act):", ""]
                out += [f"- {esc(str(item.get('detail')), 400)}" for item in plan.pending] + [""]
            elif plan.security:
                out += [f"No resource changes, but {len(plan.security):,} grant(s) the policy does not declare "
                        "(see Security, above).", ""]
            else:
                out += ["No changes." if mode == "plan" else "No drift: live matches the policy.", ""]
        else:
            prefix = "" if mode == "drift" or not report.has_base else "This PR: "
            out += _area_sections(report.own, budget, mode, prefix)
        if report.kept_drift or report.resolved_drift:
            out += [
                "**Drift already present on the base branch** (live differs from main; not caused by this "
                "pull request, but applying main would revert it):",
                "",
            ]
            if report.kept_drift:
                out += _area_sections(report.kept_drift, budget, "drift", "Drift: ")
            if report.resolved_drift:
                out += [f"This pull request folds {len(report.resolved_drift):,} drifted item(s) back into git:", ""]
                out += _area_sections(report.resolved_drift, budget, "drift", "Accepted drift: ")
        for warning in plan.warnings[: max(budget.highlights, 5)]:
            out.append(f"- ⚠ {esc(warning, 400)}")
        if len(plan.warnings) > max(budget.highlights, 5):
            out.append(f"- … and {len(plan.warnings) - max(budget.highlights, 5):,} more warnings.")
        if plan.unmanaged:
            out.append(f"- {len(plan.unmanaged):,} unmanaged live resource(s) left alone (see the full report).")
        if plan.warnings or plan.unmanaged:
            out.append("")
        if plan.drift_mode:
            out += [f"<sub>{esc(drift_mode_line(plan.drift_mode), 2000)}</sub>", ""]
        if plan.strategies:
            reads = "; ".join(f"{esc(a)}: {esc(s)}" for a, s in sorted(plan.strategies.items()))
            out += [f"<sub>Reads: {reads}</sub>", ""]
    if artifact_url:
        out.append(f"Full report and plan files: {esc(artifact_url, 500)}")
    else:
        out.append("Full report and plan files: see this run's artifacts.")
    return markdown_document("\n".join(out).rstrip() + "\n")


def render(
    plans: list[Plan],
    *,
    title: str = "SMS policy plan",
    mode: Mode = "plan",
    base_drift: list[Plan] | None = None,
    artifact_url: str | None = None,
    fork_mode: bool = False,
    full: bool = False,
    untrusted_fork: bool = False,
    guardrails: list[str] | None = None,
) -> str:
    """The Markdown report for ``plans`` (one per target), at most :data:`LIMIT` characters.

    ``base_drift``: plans of the base branch's policy against the same live state (drift);
    their changes are shown apart from the pull request's own changes. ``full``: every change
    and highlight, however long (the artifact the comment's "… and N more" points to).
    ``guardrails``: the *Guardrails* section's lines, shown first (reconciler.guardrails.render).
    """
    # The reconciler's own records (Change.internal) are never drift: not in a drift report, not
    # in the base branch's drift beside a pull request's plan.
    if mode == "drift":
        plans = [_without_internal(p) for p in plans]
    bases = {p.target: _without_internal(p) for p in (base_drift or [])}
    reports = [split(plan, bases.get(plan.target) if base_drift is not None else None) for plan in sorted(plans, key=lambda p: p.target)]
    if mode == "drift":
        title = title if title != "SMS policy plan" else "SMS policy drift"
    if full:
        everything = Budget(sys.maxsize, sys.maxsize, True)
        return _render(reports, everything, title=title, mode=mode, artifact_url=artifact_url, fork_mode=fork_mode,
                       untrusted_fork=untrusted_fork, guardrails=guardrails)
    text = ""
    for budget in BUDGETS:
        text = _render(reports, budget, title=title, mode=mode, artifact_url=artifact_url, fork_mode=fork_mode,
                       untrusted_fork=untrusted_fork, guardrails=guardrails)
        if len(text) <= LIMIT:
            return text
    # Even the summary is too long (thousands of targets or warnings): cut at a line boundary.
    cut = text[: LIMIT - 200].rsplit("\n", 1)[0]
    return cut + "\n\n… report cut to fit GitHub's comment limit; the full report is in the artifact.\n"


def drift_mode_line(mode: dict[str, Any]) -> str:
    """How a drift read its target (reconciler/drift_feed), in one line."""
    if mode.get("mode") == "incremental":
        covered = "; ".join(f"{area}: {what}" for area, what in sorted((mode.get("covered") or {}).items()))
        return (f"Incremental drift from the full read of {mode.get('baseline_full_read')}: "
                f"{mode.get('events', 0)} CloudTrail write event(s) since {mode.get('window_start')}. {covered}")
    renewed = "; baseline renewed" if mode.get("baseline_saved") else ""
    return f"Full drift ({mode.get('reason', '')}){renewed}"


def _without_internal(plan: Plan) -> Plan:
    return dataclasses.replace(plan, changes=[c for c in plan.changes if not c.internal])
