"""Safety rules an apply must pass: forced changes, blocked steps, pool juggling, thresholds.

Thresholds, per guard scope (``Change.guard_scope``, e.g. ``protect`` or ``opt_outs/marketing``):

=========================  =======  =====================================================
limit                      default  override flag
=========================  =======  =====================================================
resource deletions         10       ``--max-deletions N``
deletions, percent         25       ``--max-deletion-percent P``
membership removals        1000     ``--max-removals N``
membership removals, pct   10       ``--max-removal-percent P``
opted-out number additions 50000    ``--max-additions N``
=========================  =======  =====================================================

Opted-out number additions are protective (they stop messages), so ``apply --auto-approve``
writes them while the lists are still read (reconciler/early_writes.py); but a numbers file
committed by mistake must not put millions of numbers on a list unnoticed. The writer stops at
the limit, and the full check counts what it wrote (``written``) with what is left, so the apply
is refused with the same finding as any other threshold. There is no percentage: adding to an
empty or new list would be an unbounded percentage of nothing.

Percentages apply only to scopes holding at least :data:`MIN_SIZE_FOR_PERCENT` items (deleting
one of two things is 50 %, which says little), like octoDNS's minimum-existing-records rule.
Changes flagged ``needs-force`` (removing the account default, turning deletion protection
off, deleting a share) need ``--force``; pool juggling needs ``--allow-pool-juggling``;
``blocked`` steps can never run. End-user opt-outs (recipients who replied STOP) that deleting
an opt-out list would drop, because no identity carries them to another list, are counted on
their own, apart from other deletions: the apply must name their exact total with
``--drop-end-user-opt-outs N``. Every finding names the scope, the counts, the limit and the
flag that overrides it, and all findings are reported at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.areas.base import declared_types
from reconciler.cli import UserError
from reconciler.plan import FLAG_BLOCKED, FLAG_NEEDS_FORCE, FLAG_POOL_JUGGLING, Change, Plan

MIN_SIZE_FOR_PERCENT = 10


@dataclass(frozen=True)
class GuardOptions:
    force: bool = False
    allow_pool_juggling: bool = False
    max_deletions: int = 10
    max_deletion_percent: float = 25.0
    max_removals: int = 1000
    max_removal_percent: float = 10.0
    max_additions: int = 50_000
    # Deleting opt-out lists drops this many end-user opt-outs no identity carries (exact count).
    drop_end_user_opt_outs: int | None = None


@dataclass(frozen=True)
class Finding:
    rule: str  # "blocked" | "needs-force" | "pool-juggling" | "deletions" | "removals" | "end-user-opt-outs"
    message: str
    override: str | None  # the flag that allows it, None when nothing does


def _keys(changes: Sequence[Change], limit: int = 5) -> str:
    keys = [c.key for c in changes]
    return ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _threshold(
    kind: str, scope: str, count: int, size: int | None, max_count: int, max_percent: float, count_flag: str, pct_flag: str
) -> list[Finding]:
    findings = []
    if count > max_count:
        findings.append(
            Finding(
                kind,
                f"{scope}: {count} {kind} exceed the limit of {max_count}; rerun with {count_flag} {count} to allow",
                count_flag,
            )
        )
    if size and size >= MIN_SIZE_FOR_PERCENT:
        percent = 100.0 * count / size
        if percent > max_percent:
            findings.append(
                Finding(
                    kind,
                    f"{scope}: {count} of {size} ({percent:.1f}%) {kind} exceed the limit of {max_percent:g}%; "
                    f"rerun with {pct_flag} {int(percent) + 1} to allow",
                    pct_flag,
                )
            )
    return findings


def is_opt_out_addition(change: Change) -> bool:
    """An added member the guard's --max-additions counts (``Area.guarded_additions``)."""
    return change.action == "add" and change.resource_type in declared_types("guarded_additions")


def _additions(changes: Sequence[Change], written: Sequence[Change], options: GuardOptions) -> list[Finding]:
    keys = {c.key for c in changes}
    counts = Counter(c.guard_scope for c in changes if is_opt_out_addition(c))
    counts.update(c.guard_scope for c in written if is_opt_out_addition(c) and c.key not in keys)
    return [
        Finding(
            "additions",
            f"{scope}: {count} opted-out number additions exceed the limit of {options.max_additions}; "
            f"rerun with --max-additions {count} to allow",
            "--max-additions",
        )
        for scope, count in sorted(counts.items())
        if count > options.max_additions
    ]


def check(plan: Plan, changes: Sequence[Change], options: GuardOptions, written: Sequence[Change] = ()) -> list[Finding]:
    """Everything that stops ``changes`` (a subset of ``plan``) from being applied. ``written``:
    changes already written early in this apply, which count against the additions limit."""
    findings: list[Finding] = []
    for change in changes:
        if FLAG_BLOCKED in change.flags:
            reason = change.data.get("reason", "this step cannot run")
            findings.append(Finding("blocked", f"{change.key}: {reason}", None))
    forced = [c for c in changes if FLAG_NEEDS_FORCE in c.flags]
    if forced and not options.force:
        findings.append(
            Finding(
                "needs-force",
                f"{len(forced)} change(s) always need --force: {_keys(forced)}",
                "--force",
            )
        )
    juggled = [c for c in changes if FLAG_POOL_JUGGLING in c.flags and FLAG_BLOCKED not in c.flags]
    if juggled and not options.allow_pool_juggling:
        pools = sorted({str(c.data.get("pool_id")) for c in juggled})
        findings.append(
            Finding(
                "pool-juggling",
                f"{len(juggled)} number(s) are in a pool ({', '.join(pools)}) and AWS refuses UpdatePhoneNumber on a "
                f"pooled number: {_keys(juggled)}; rerun with --allow-pool-juggling to take each out of its pool, "
                "update it and put it back",
                "--allow-pool-juggling",
            )
        )
    findings += _dropped_end_user_opt_outs(changes, options)
    deletions = Counter(c.guard_scope for c in changes if c.action == "delete")
    for scope, count in sorted(deletions.items()):
        findings += _threshold(
            "deletions", scope, count, plan.scope_sizes.get(scope), options.max_deletions,
            options.max_deletion_percent, "--max-deletions", "--max-deletion-percent",
        )
    removals = Counter(c.guard_scope for c in changes if c.action == "remove")
    for scope, count in sorted(removals.items()):
        findings += _threshold(
            "removals", scope, count, plan.scope_sizes.get(scope), options.max_removals,
            options.max_removal_percent, "--max-removals", "--max-removal-percent",
        )
    findings += _additions(changes, written, options)
    return findings


def _dropped_end_user_opt_outs(changes: Sequence[Change], options: GuardOptions) -> list[Finding]:
    flags = declared_types("end_user_drop_flags")  # opt-out lists deleted with end-user opt-outs on them
    dropping = [c for c in changes if not flags.isdisjoint(c.flags)]
    total = sum(int(c.data.get("end_user_opt_outs", 0)) for c in dropping)
    if not total or options.drop_end_user_opt_outs == total:
        return []
    lists = ", ".join(str(c.data.get("list")) for c in dropping)
    named = (
        "" if options.drop_end_user_opt_outs is None
        else f" (--drop-end-user-opt-outs {options.drop_end_user_opt_outs} does not match)"
    )
    return [
        Finding(
            "end-user-opt-outs",
            f"deleting opt-out list(s) {lists} drops {total} end-user opt-out(s) (recipients who replied STOP) "
            f"that no identity carries to another list{named}; keep the list(s) in the policy, point an "
            f"identity's opt_out_list at the list that should keep them, or rerun with "
            f"--drop-end-user-opt-outs {total} to drop exactly these",
            "--drop-end-user-opt-outs",
        )
    ]


class GuardError(UserError):
    def __init__(self, target: str, findings: Sequence[Finding]) -> None:
        lines = [f"target {target}: apply refused, nothing was changed by this step:"]
        lines += [f"  - {finding.message}" for finding in findings]
        flags = sorted({f.override for f in findings if f.override})
        hint = f"review the plan; overrides: {', '.join(flags)}" if flags else "fix the policy or the account"
        super().__init__("\n".join(lines), hint=hint)
        self.findings = list(findings)


def enforce(plan: Plan, changes: Sequence[Change], options: GuardOptions, written: Sequence[Change] = ()) -> None:
    findings = check(plan, changes, options, written)
    if findings:
        raise GuardError(plan.target, findings)
