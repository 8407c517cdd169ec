"""Guardrail verdicts in words: the terminal (``reconciler check``), the pull-request comment,
commit-status descriptions and JSON. Details are counts and country names, never numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.guardrails.model import Evaluation, Finding
from reconciler.report.escape import markdown_code, markdown_text, terminal

# GitHub answers 422 to a longer commit-status description (assumption where its docs are silent:
# the web UI and the API have long cut it at 140 characters).
STATUS_DESCRIPTION_CHARS = 140


def approver_text(finding: Finding) -> str:
    return str(finding.rule.approver)


def headline(finding: Finding, approved_by: str | None = None) -> str:
    """One line: the verdict and who decides, e.g. ``needs approval from acme/fraud``."""
    if finding.verdict == "deny":
        return "denied"
    if finding.verdict == "warn":
        return "warning"
    if finding.exempt:
        return f"exempt from approval by {approver_text(finding)} ({finding.exempt})"
    if approved_by:
        return f"approved by {approved_by} ({approver_text(finding)})"
    return f"needs approval from {approver_text(finding)}"


def text(evaluation: Evaluation, approved: Mapping[str, str] | None = None) -> str:
    """The terminal report of ``reconciler check``."""
    approved = approved or {}
    lines: list[str] = []
    for finding in evaluation.findings:
        lines.append(f"{finding.rule.name}: {headline(finding, approved.get(finding.rule.name))}")
        if finding.rule.description:
            lines.append(f"  why: {finding.rule.description}")
        lines += [f"  - {detail}" for detail in finding.details]
    fired = len(evaluation.findings)
    lines.append(f"guardrails: {evaluation.rules} rule(s), {fired} fired: {len(evaluation.denied)} deny, "
                 f"{len(evaluation.approvals)} need approval, "
                 f"{sum(1 for f in evaluation.findings if f.verdict == 'warn')} warn")
    return "\n".join(terminal(line) for line in lines) + "\n"


_ICONS = {"deny": "⛔", "needs-approval": "⏳", "warn": "⚠️"}


def _headline_json(item: dict[str, Any]) -> str:
    verdict, approver, who = item["verdict"], markdown_code(item.get("approver") or ""), item.get("approved_by")
    if verdict == "deny":
        return "Denied"
    if verdict == "warn":
        return "Warning"
    if item.get("exempt"):
        return f"Exempt from approval by {approver} ({markdown_text(item['exempt'], 200)})"
    if who:
        return f"Approved by {markdown_code(who)} ({approver})"
    return f"Needs approval from {approver}"


def markdown(verdicts: Mapping[str, Any] | None, limit: int = 5) -> list[str]:
    """The comment's *Guardrails* section (lines, shown first) from :func:`to_json`'s document;
    [] without guardrails."""
    if verdicts is None:
        return []
    out = ["#### Guardrails", ""]
    findings = list(verdicts.get("findings") or [])
    if not findings:
        return [*out, f"✅ All {int(verdicts.get('rules') or 0)} guardrail rule(s) pass.", ""]
    for item in findings:
        icon = "✅" if item.get("approved_by") or item.get("exempt") else _ICONS.get(str(item["verdict"]), "")
        why = f" — {markdown_text(item['description'], 300)}" if item.get("description") else ""
        out.append(f"- {icon} **{_headline_json(item)}** ({markdown_code(item['rule'])}){why}")
        details = list(item.get("details") or [])
        out += [f"  - {markdown_text(detail, 600)}" for detail in details[:limit]]
        if len(details) > limit:
            out.append(f"  - … and {len(details) - limit:,} more target(s).")
    return [*out, ""]


def status_description(finding: Finding, approved_by: str | None = None) -> str:
    """A commit status's description: the verdict, then the first detail, cut to fit."""
    words = headline(finding, approved_by)
    if finding.details:
        words += ": " + finding.details[0]
    words = terminal(" ".join(words.split()))
    return words if len(words) <= STATUS_DESCRIPTION_CHARS else words[: STATUS_DESCRIPTION_CHARS - 1] + "…"


def to_json(evaluation: Evaluation, approved: Mapping[str, str] | None = None) -> dict[str, Any]:
    approved = approved or {}
    return {
        "rules": evaluation.rules,
        "findings": [
            {
                "rule": f.rule.name,
                "verdict": f.verdict,
                "description": f.rule.description or None,
                "approver": f.rule.approver,
                "approved_by": approved.get(f.rule.name),
                "exempt": f.exempt,
                "count": f.count,
                "details": list(f.details),
            }
            for f in evaluation.findings
        ],
        "exit_code": evaluation.exit_code(frozenset(approved)),
    }
