"""Guard findings: thresholds per scope (count and percent), --force, blocked and pool juggling."""

from __future__ import annotations

from reconciler.guard import GuardOptions, check
from reconciler.plan import FLAG_BLOCKED, FLAG_NEEDS_FORCE, FLAG_POOL_JUGGLING, Change, Plan


def removal(index: int, scope: str = "opt_outs/marketing") -> Change:
    return Change("opt_outs", "remove", "opted-out-number", f"{scope}/n{index:05d}", scope=scope)


def test_membership_removals_are_limited_by_count_and_percent_per_scope() -> None:
    changes = [removal(i) for i in range(150)] + [removal(i, "opt_outs/other") for i in range(5)]
    plan = Plan("prod", changes, scope_sizes={"opt_outs/marketing": 1000, "opt_outs/other": 8})
    messages = [f.message for f in check(plan, changes, GuardOptions(max_removals=100))]
    assert messages == [
        "opt_outs/marketing: 150 removals exceed the limit of 100; rerun with --max-removals 150 to allow",
        "opt_outs/marketing: 150 of 1000 (15.0%) removals exceed the limit of 10%; rerun with --max-removal-percent 16 to allow",
    ]
    # 5 of 8 is 62 %, but a scope under 10 items is judged by count only.
    assert check(plan, changes, GuardOptions(max_removals=150, max_removal_percent=15)) == []


def test_forced_blocked_and_juggling_changes_are_named() -> None:
    changes = [
        Change("protect", "update", "protect-configuration", "protect/prod/deletion-protection", flags=frozenset({FLAG_NEEDS_FORCE})),
        Change("phone_numbers", "update", "phone-number", "phone_numbers/number/x", flags=frozenset({FLAG_BLOCKED}),
               data={"reason": "why not"}),
        Change("phone_numbers", "update", "phone-number", "phone_numbers/number/y", flags=frozenset({FLAG_POOL_JUGGLING}),
               data={"pool_id": "pool-1"}),
    ]
    plan = Plan("prod", changes)
    findings = check(plan, changes, GuardOptions())
    assert [(f.rule, f.override) for f in findings] == [
        ("blocked", None), ("needs-force", "--force"), ("pool-juggling", "--allow-pool-juggling"),
    ]
    assert findings[0].message == "phone_numbers/number/x: why not"
    remaining = check(plan, changes, GuardOptions(force=True, allow_pool_juggling=True))
    assert [f.rule for f in remaining] == ["blocked"]


def test_opted_out_number_additions_are_limited_per_list_counting_those_already_written() -> None:
    def addition(index: int) -> Change:
        return Change("opt_outs", "add", "opted-out-number", f"opt_outs/big/n{index:05d}", scope="opt_outs/big")

    changes = [addition(i) for i in range(40)]
    plan = Plan("prod", changes)
    assert check(plan, changes, GuardOptions(max_additions=40)) == []
    written = [addition(i) for i in range(40, 60)]
    (finding,) = check(plan, changes, GuardOptions(max_additions=40), written=written)
    assert finding.message == "opt_outs/big: 60 opted-out number additions exceed the limit of 40; rerun with --max-additions 60 to allow"
    assert finding.override == "--max-additions"
