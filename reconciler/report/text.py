"""Plain-text reports for terminals: summary line first, then per target, phase and change.

Colour only on a TTY. Deterministic: targets by name, changes in execution order. Values are
shown as reported by the areas (already masked); free text is masked once more and escaped for the terminal (reconciler.report.escape).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan import ACTIONS, PHASE_BLOCKS, Change, Plan
from reconciler.report.escape import neutralise_commands, terminal

SYMBOLS = {"create": "+", "add": "+", "associate": "+", "update": "~", "delete": "-", "remove": "-", "disassociate": "-"}
COLOURS = {"+": "32", "~": "33", "-": "31"}
MAX_DETAIL_LINES = 12
# Long runs of similar changes (e.g. 350 opted-out numbers) show their first few, then a count.
GROUP_SHOWN = 10


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def counts_text(counts: dict[str, int]) -> str:
    parts = [f"{counts[a]} {a}" for a in ACTIONS if counts.get(a)]
    return ", ".join(parts)


def summary_line(plans: list[Plan]) -> str:
    total = sum(len(p.changes) for p in plans)
    targets = f"{len(plans)} target{'s' if len(plans) != 1 else ''}"
    pending = sum(len(p.pending) for p in plans)
    if not total and pending:
        return (f"No changes, but {pending} pending: the policy is not in effect until others act "
                f"(see Pending) ({targets}).")
    if not total:
        return f"No changes: live state matches the policy ({targets})."
    counts = {a: sum(p.counts()[a] for p in plans) for a in ACTIONS}
    return f"Plan: {total} change{'s' if total != 1 else ''} in {targets} ({counts_text(counts)})."


def change_lines(change: Change, colour: bool) -> list[str]:
    symbol = SYMBOLS.get(change.action, "?")
    head = f"  {symbol} {change.key}"
    if change.summary:
        head += f"  — {change.summary}"
    flags = sorted(change.flags)
    if flags:
        head += f"  [{', '.join(flags)}]"
    lines = [_paint(terminal(head), COLOURS.get(symbol, "0"), colour)]
    before, after = change.before, change.after
    details: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            details.append(f"      {key}: {_value(before.get(key))} -> {_value(after.get(key))}")
    elif isinstance(after if before is None else before, str) and str(after if before is None else before) in change.key:
        pass  # the value is already the last part of the key (e.g. a masked number)
    elif before is not None or after is not None:
        if before is not None and after is not None:
            details.append(f"      {_value(before)} -> {_value(after)}")
        elif after is not None:
            details.append(f"      {_value(after)}")
        else:
            details.append(f"      was {_value(before)}")
    if "reason" in change.data:
        details.append(f"      cannot proceed: {change.data['reason']}")
    if len(details) > MAX_DETAIL_LINES:
        details = [*details[:MAX_DETAIL_LINES], f"      … {len(details) - MAX_DETAIL_LINES} more"]
    return lines + [terminal(line) for line in details]


def grouped_lines(changes: list[Change], colour: bool) -> list[str]:
    """Change lines, with runs of more than 2 x GROUP_SHOWN similar changes shortened."""
    lines: list[str] = []
    index = 0
    while index < len(changes):
        first = changes[index]
        group = (first.area, first.action, first.resource_type, first.guard_scope)
        end = index
        while end < len(changes):
            c = changes[end]
            if (c.area, c.action, c.resource_type, c.guard_scope) != group:
                break
            end += 1
        run = changes[index:end]
        shown = run if len(run) <= 2 * GROUP_SHOWN else run[:GROUP_SHOWN]
        for change in shown:
            lines += change_lines(change, colour)
        if len(shown) < len(run):
            lines.append(terminal(f"  … and {len(run) - len(shown)} more: {first.action} {first.resource_type} in {first.guard_scope}"))
        index = end
    return lines


def render_plan(plan: Plan, colour: bool = False) -> list[str]:
    where = f"{plan.account_id}/{plan.region}" if plan.account_id else ""
    head = f"Target {plan.target} ({where}): "
    head += f"{len(plan.changes)} change(s): {counts_text(plan.counts())}" if plan.changes else "no changes"
    if plan.pending:
        head += f", {len(plan.pending)} pending"
    lines = [_paint(terminal(head), "1", colour)]
    if plan.fingerprint:
        lines.append(f"  live state fingerprint {plan.fingerprint}")
    for area, strategy in sorted(plan.strategies.items()):
        lines.append(terminal(f"  read {area}: {strategy}"))
    blocks = [c for c in plan.sorted_changes() if c.phase == PHASE_BLOCKS]
    rest = [c for c in plan.sorted_changes() if c.phase != PHASE_BLOCKS]
    if blocks:
        lines.append("  Phase 1 — blocks (written first, each as soon as it is known):")
        lines += grouped_lines(blocks, colour)
    if rest:
        lines.append("  Phase 2 — changes in dependency order:" if blocks else "  Changes in dependency order:")
        lines += grouped_lines(rest, colour)
    if plan.unmanaged:
        lines.append("  Unmanaged (reported, never deleted unless the policy's prune lists the area):")
        for item in plan.unmanaged:
            name = f" {item.get('name')}" if item.get("name") else ""
            detail = f" ({item.get('detail')})" if item.get("detail") else ""
            lines.append(terminal(f"    ? {item.get('area')} {item.get('type')} {item.get('id')}{name}{detail}"))
    if plan.pending:
        lines.append("  Pending (waiting on someone else; not a change, not yet in effect):")
        lines += [terminal(f"    … {item.get('area')} {item.get('share')}: {item.get('detail')}") for item in plan.pending]
    for warning in plan.warnings:
        lines.append(_paint(terminal(f"  warning: {warning}"), "33", colour))
    for finding in plan.guard_findings:
        lines.append(_paint(terminal(f"  apply would refuse: {finding}"), "31", colour))
    return lines


def render(plans: list[Plan], colour: bool = False) -> str:
    ordered = sorted(plans, key=lambda p: p.target)
    lines = [summary_line(ordered), ""]
    for plan in ordered:
        lines += render_plan(plan, colour)
        lines.append("")
    return neutralise_commands("\n".join(lines).rstrip() + "\n")
