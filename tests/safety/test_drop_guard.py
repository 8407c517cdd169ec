"""The guard counts dropped end-user opt-outs on their own and wants their exact total."""

from __future__ import annotations

from reconciler.areas.opt_outs.carry import FLAG_DROPS_END_USER
from reconciler.guard import GuardOptions, check
from reconciler.plan import ORDER_DELETE, Change, Plan


def _delete(name: str, dropped: int) -> Change:
    return Change("opt_outs", "delete", "opt-out-list", f"opt_outs/{name}", order=ORDER_DELETE,
                  flags=frozenset({"deletion", FLAG_DROPS_END_USER}), data={"list": name, "end_user_opt_outs": dropped})


def test_dropping_needs_the_exact_total_apart_from_the_deletion_limits() -> None:
    changes = [_delete("a", 2), _delete("b", 1)]
    plan = Plan(target="prod", changes=changes)
    [finding] = check(plan, changes, GuardOptions())
    assert finding.rule == "end-user-opt-outs" and "drops 3 end-user opt-out(s)" in finding.message
    assert "--drop-end-user-opt-outs 3 " in finding.message
    [wrong] = check(plan, changes, GuardOptions(drop_end_user_opt_outs=2))
    assert "--drop-end-user-opt-outs 2 does not match" in wrong.message
    assert check(plan, changes, GuardOptions(drop_end_user_opt_outs=3)) == []
    # The deletion limit still applies on its own.
    assert [f.rule for f in check(plan, changes, GuardOptions(drop_end_user_opt_outs=3, max_deletions=1))] == ["deletions"]
