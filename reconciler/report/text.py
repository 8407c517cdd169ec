"""Plain-text reports for terminals: summary line first, then per target, phase and change.

Colour only on a TTY. Deterministic: targets by name, changes in execution order. Values are
shown as reported by the areas (already masked); free text is masked once more and escaped for the terminal (reconciler.report.escape).
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.plan import ACTIONS, PHASE_BLOCKS, Change, Plan
from reconciler.report import security
from reconciler.report.area_report import member_groups
from reconciler.report.effects import RISKY
from reconciler.report.effects import sections as effect_sections
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


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def natural_key(text: str) -> list[Any]:
    """Digits compare as numbers: ``…****#2`` sorts before ``…****#10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def counts_text(counts: dict[str, int]) -> str:
    parts = [f"{counts[a]} {a}" for a in ACTIONS if counts.get(a)]
    return ", ".join(parts)


def _shown(plan: Plan, verbose: bool) -> list[Change]:
    """The changes a report shows: internal records only with -v."""
    return plan.sorted_changes() if verbose else [c for c in plan.sorted_changes() if not c.internal]


def summary_line(plans: list[Plan], verbose: bool = False) -> str:
    shown = [c for p in plans for c in _shown(p, verbose)]
    total = len(shown)
    targets = plural(len(plans), "target")
    pending = sum(len(p.pending) for p in plans)
    if not total and pending:
        return (f"No changes, but {pending} pending: the policy is not in effect until others act "
                f"(see Pending) ({targets}).")
    findings = sum(len(p.security) for p in plans)
    if not total and findings:
        return (f"No changes, but SECURITY: {findings} grant(s) the policy does not declare "
                f"(see Security) ({targets}).")
    if not total:
        return f"No changes: live state matches the policy ({targets})."
    counts = {a: sum(1 for c in shown if c.action == a) for a in ACTIONS}
    alarm = f" SECURITY: {findings} grant(s) the policy does not declare (see Security)." if findings else ""
    return f"Plan: {plural(total, 'change')} in {targets} ({counts_text(counts)}).{alarm}"


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


INLINE_KEYS = 4  # attribute changes up to this many fit on the change's own line


def _detail_text(before: Any, after: Any) -> tuple[str, list[str]]:
    """What changes: inline text for the change's line, or detail lines when it is long."""
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        keys = sorted(set(old) | set(new))
        if isinstance(before, dict) and isinstance(after, dict):
            pairs = [(k, f"{_value(old.get(k))} -> {_value(new.get(k))}") for k in keys]
        elif isinstance(after, dict):
            pairs = [(k, _value(new[k])) for k in keys]
        else:
            pairs = [(k, f"was {_value(old[k])}") for k in keys]
        values = [v for k in keys for v in (old.get(k), new.get(k))]
        transitions = {v for _, v in pairs}
        if len(pairs) > INLINE_KEYS and len(transitions) == 1 and " -> " in next(iter(transitions)):
            return f"{next(iter(transitions))} for all {len(pairs)}", []  # e.g. 239 countries ALLOW -> BLOCK
        if len(pairs) <= INLINE_KEYS and all(_scalar(v) for v in values):
            return ", ".join(f"{k} {v}" if " -> " in v else f"{k}: {v}" for k, v in pairs), []
        return "", [f"      {k}: {v}" for k, v in pairs]
    if before is not None and after is not None:
        return f"{_value(before)} -> {_value(after)}", []
    if after is not None:
        return _value(after), []
    if before is not None:
        return f"was {_value(before)}", []
    return "", []


def change_lines(change: Change, colour: bool, verbose: bool = False) -> list[str]:
    """One line per change; long attribute maps (a rule set of many countries) add detail lines."""
    symbol = SYMBOLS.get(change.action, "?")
    before, after = change.before, change.after
    value = after if before is None else before
    details: list[str]
    if isinstance(value, str) and value in change.key:
        inline, details = "", []  # the value is already the last part of the key (e.g. a masked number)
    else:
        inline, details = _detail_text(before, after)
    head = f"  {symbol} {change.key}"
    text = ": ".join(part for part in (change.summary, inline) if part)
    if text:
        head += f"  — {text}"
    flags = sorted(change.flags)
    if flags:
        head += f"  [{', '.join(flags)}]"
    lines = [_paint(terminal(head), COLOURS.get(symbol, "0"), colour)]
    if "reason" in change.data:
        details.append(f"      cannot proceed: {change.data['reason']}")
    if len(details) > MAX_DETAIL_LINES and not verbose:
        details = [*details[:MAX_DETAIL_LINES], f"      … {len(details) - MAX_DETAIL_LINES} more"]
    return lines + [terminal(line) for line in details]


# Membership changes shown as one line per list and action ("add 176 numbers to shared-optouts"),
# when there are more than MEMBER_LINES of them (a few are clearer one by one).
MEMBER_LINES = 3


def _member_group_lines(run: list[Change], colour: bool, verbose: bool) -> list[str]:
    first = run[0]
    noun, prepositions = member_groups()[first.resource_type]
    symbol = SYMBOLS.get(first.action, "?")
    where = str(first.data.get("list") or first.guard_scope.rsplit("/", 1)[-1])
    head = f"  {symbol} {first.guard_scope}  — {first.action} {plural(len(run), noun)} {prepositions.get(first.action, 'in')} {where}"
    flags = sorted({flag for change in run for flag in change.flags})
    if flags:
        head += f"  [{', '.join(flags)}]"
    lines = [_paint(terminal(head), COLOURS.get(symbol, "0"), colour)]
    if verbose:
        lines += [terminal(f"      {change.key.rsplit('/', 1)[-1]}") for change in sorted(run, key=lambda c: natural_key(c.key))]
    return lines


def grouped_lines(changes: list[Change], colour: bool, verbose: bool = False) -> list[str]:
    """Change lines: membership changes of one list as one line, and runs of more than
    2 x GROUP_SHOWN other similar changes shortened (all of them with -v)."""
    lines: list[str] = []
    groups = member_groups()
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
        run = sorted(changes[index:end], key=lambda c: natural_key(c.key))
        index = end
        members = first.resource_type in groups and first.action in groups[first.resource_type][1]
        if members and len(run) > MEMBER_LINES:
            lines += _member_group_lines(run, colour, verbose)
            continue
        shown = run if verbose or len(run) <= 2 * GROUP_SHOWN else run[:GROUP_SHOWN]
        for change in shown:
            lines += change_lines(change, colour, verbose)
        if len(shown) < len(run):
            lines.append(terminal(f"  … and {len(run) - len(shown)} more: {first.action} {first.resource_type} in {first.guard_scope}"))
    return lines


def effect_lines(plan: Plan, colour: bool) -> list[str]:
    """The "Effect" block: what the plan changes in effect, riskiest first, before the changes."""
    found = effect_sections(plan.effects)
    if not found:
        return []
    lines = ["  Effect (riskiest first):"]
    for title, sentences in found:
        lines.append(_paint(terminal(f"    {title}:"), "31" if title in RISKY else "1", colour))
        lines += [terminal(f"      {sentence}") for sentence in sentences]
    return lines


def render_plan(plan: Plan, colour: bool = False, verbose: bool = False) -> list[str]:
    where = f"{plan.account_id}/{plan.region}" if plan.account_id else ""
    shown = _shown(plan, verbose)
    head = f"Target {plan.target} ({where}): "
    counts = {a: sum(1 for c in shown if c.action == a) for a in ACTIONS}
    head += f"{plural(len(shown), 'change')}: {counts_text(counts)}" if shown else "no changes"
    if plan.pending:
        head += f", {len(plan.pending)} pending"
    lines = [_paint(terminal(head), "1", colour)]
    if plan.security:  # before anything else: grants nobody reviewed
        lines.append(_paint(f"  {security.TITLE}:", "31", colour))
        lines += [_paint(terminal(f"    ! {security.sentence(f)}"), "31", colour) for f in plan.security]
    if verbose:  # what the reads cost and what they saw: for the curious, not for every review
        if plan.fingerprint:
            lines.append(f"  live state fingerprint {plan.fingerprint}")
        for area, strategy in sorted(plan.strategies.items()):
            lines.append(terminal(f"  read {area}: {strategy}"))
    lines += effect_lines(plan, colour)
    blocks = [c for c in shown if c.phase == PHASE_BLOCKS]
    rest = [c for c in shown if c.phase != PHASE_BLOCKS]
    if blocks:
        lines.append("  Phase 1 — blocks (written first, each as soon as it is known):")
        lines += grouped_lines(blocks, colour, verbose)
    if rest:
        lines.append("  Phase 2 — changes in dependency order:" if blocks else "  Changes in dependency order:")
        lines += grouped_lines(rest, colour, verbose)
    hidden = len(plan.changes) - len(shown)
    if hidden:
        lines.append(f"  (and {plural(hidden, 'internal record')} to update, shown with -v)")
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


def render(plans: list[Plan], colour: bool = False, verbose: bool = False) -> str:
    ordered = sorted(plans, key=lambda p: p.target)
    lines = [summary_line(ordered, verbose), ""]
    for plan in ordered:
        lines += render_plan(plan, colour, verbose)
        lines.append("")
    return neutralise_commands("\n".join(lines).rstrip() + "\n")
