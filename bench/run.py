"""Build the accounts once, then run every scenario with every strategy, each in a forked child."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import bounds, product, scripts, world
from bench.measure import THROTTLE, WAIT, Context, in_child, prepare
from reconciler.config.model import Policy
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import Clock, RegionState, World

PRODUCT, NAIVE, REFRESH = "product", "naive", "refresh-then-diff"
STRATEGIES = (PRODUCT, NAIVE, REFRESH)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    product: Callable[[Context], None]
    baseline: Callable[[Context, bool], None]
    strategies: tuple[str, ...] = STRATEGIES


SCENARIOS = (
    Scenario("S4-import", "import of the large account", product.s4_import, scripts.s4_import),
    Scenario("S1", "no-change plan of the large account", product.s1_plan, scripts.s1),
    Scenario("S2", "pull request adding numbers to the large list: plan, then apply", product.s2_plan_apply, scripts.s2),
    Scenario("S3", "emergency block of one country on every protect configuration", product.s3_block, scripts.s3),
    Scenario("S4-apply", "first apply of the example policy to an empty account", product.s4_apply, scripts.s4_apply),
    Scenario("S5", "nightly drift of the large account", product.s5_drift, scripts.s5),
    Scenario("S5-share", "S5 with --quota-share 0.5 (half of every quota left to the application)",
             product.s5_share, scripts.s5, (PRODUCT,)),
    Scenario("S6", "incremental nightly drift after out-of-git writes since the last full read",
             product.s6_drift, scripts.s6, (PRODUCT, REFRESH)),
)
ORDER = ("S1", "S2", "S3", "S4-apply", "S4-import", "S5", "S5-share", "S6")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def large_facts(state: RegionState, policy: Policy) -> dict[str, Any]:
    desired = next(iter(policy.desired.values()))
    configs = max(1, len(desired.protect_configurations))
    unpooled = {ref for n in state.phone_numbers.values() if n.pool_id is None for ref in (n.phone_number_id, n.phone_number)}
    return {
        "protect_configurations": len(state.protect_configurations),
        "managed_capabilities": round(sum(len(s.rules) for s in desired.protect_configurations) / configs),
        "configuration_sets": len(state.configuration_sets),
        "configuration_sets_managed": bool(desired.configuration_sets)
        or any(s.configuration_sets for s in desired.protect_configurations),
        "phone_numbers": len(state.phone_numbers),
        "pools": len(state.pools),
        "pools_managed": bool(desired.pools),
        # managed numbers outside any pool: a crash between leaving and rejoining a pool leaves its
        # marker on the pool, so a plan reads every pool's tags (see bench/bounds.py)
        "managed_outside_pools": sum(1 for spec in desired.phone_numbers if spec.ref in unpooled),
        "sender_ids": len(state.sender_ids),
        "sender_ids_managed": bool(desired.sender_ids),
        "shares": len(state.resource_shares),
        "share_resources": sum(
            1 for share in state.resource_shares.values() for a in share.associations if a.association_type == "RESOURCE"
        ),
        "list_sizes": {name: len(opt_out.entries) for name, opt_out in sorted(state.opt_out_lists.items())},
        # resources whose resource policy a plan reads: held by RAM's policy-made shares, or declared
        "policy_resources": len({a.entity for share in state.resource_shares.values()
                                 if share.feature_set == "CREATED_FROM_POLICY" and share.status == "ACTIVE"
                                 for a in share.associations if a.association_type == "RESOURCE"}
                                | {spec.resource.ref for spec in desired.resource_policies}),
    }


def example_facts(policy: Policy) -> dict[str, int]:
    desired = next(iter(policy.desired.values()))
    return {
        "opt_out_lists": len(desired.opt_out_lists),
        "opted_out_numbers": sum(len(s.numbers) for s in desired.opt_out_lists),
        "protect_configurations": len(desired.protect_configurations),
        "rule_sets": sum(len(s.rules) for s in desired.protect_configurations),
        "account_defaults": sum(1 for s in desired.protect_configurations if s.account_default),
        "associations": sum(len(s.configuration_sets) for s in desired.protect_configurations),
        "overrides": sum(len(s.number_overrides) for s in desired.protect_configurations),
        "phone_numbers": len(desired.phone_numbers),
        "sender_ids": len(desired.sender_ids),
        "shares": len(desired.shares),
    }


def run_all(scale: world.Scale, latency: float, only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every scenario (or ``only`` these) with every strategy; scratch files are removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    try:
        return _run_all(root, scale, latency, only)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_all(root: Path, scale: world.Scale, latency: float, only: tuple[str, ...]) -> dict[str, Any]:
    started = time.perf_counter()
    log(f"building the accounts ({scale.describe()})")
    sandbox_world = World(Clock(start=world.EPOCH, simulated=True))
    state = world.build_large(scale, sandbox_world)
    world.build_empty(sandbox_world)
    sandbox = Sandbox(sandbox_world)
    policy_dir = root / "policy"
    facts: dict[str, Any] = {}
    context = Context(sandbox, scale, policy_dir, root / "S4-import-product", facts)
    rows: list[dict[str, Any]] = []

    def run(scenario: Scenario, strategy: str) -> None:
        workdir = root / f"{scenario.id}-{strategy}"
        workdir.mkdir()
        ctx = Context(sandbox, scale, policy_dir, workdir, facts)
        if scenario.id == "S6":
            ctx.start = world.S6_AT
        log(f"{scenario.id} {strategy}")
        if strategy == PRODUCT:
            result = in_child(scenario.product, ctx, THROTTLE, latency)
        else:
            parallel = strategy == REFRESH
            result = in_child(lambda c: scenario.baseline(c, parallel), ctx, WAIT, latency)
        bound = bounds.BOUNDS[scenario.id](facts)
        rows.append(row(scenario, strategy, result, bound, latency))

    # The large account's policy is what the product's import writes (S4-import, product), in the
    # steady state a previous apply leaves (watermarks), committed to a repository of its own.
    by_id = {s.id: s for s in SCENARIOS}
    setup = by_id["S4-import"]
    context.workdir.mkdir()
    log("importing the large account with the product (its output is the benchmark's policy)")
    imported = in_child(lambda c: product.import_into(c, policy_dir), context, THROTTLE, latency)
    if imported.get("error"):
        raise RuntimeError(f"the product's import failed: {imported['error']}")
    policy = world.load(policy_dir)
    world.stamp_watermarks(state, policy)
    world.commit_policy(policy_dir, "imported policy")
    settle(context)
    facts.update(large_facts(state, policy))
    facts["pr_numbers"] = world.fresh_numbers(state, scale.pr_numbers)
    facts["example"] = example_facts(world.load(world.EXAMPLE_POLICY))
    rows.append(row(setup, PRODUCT, imported, bounds.BOUNDS["S4-import"](facts), latency))
    for scenario_id in ORDER:
        if only and scenario_id not in only:
            continue
        if scenario_id == "S6":
            setup_s6(root, context, state, scale, latency)
        for strategy in by_id[scenario_id].strategies:
            if scenario_id == "S4-import" and strategy == PRODUCT:
                continue  # measured above
            run(by_id[scenario_id], strategy)
    rows.sort(key=lambda r: (ORDER.index(r["scenario"]), STRATEGIES.index(r["strategy"])))
    if only:
        rows = [r for r in rows if r["scenario"] in only]
    micro_context = Context(sandbox, scale, policy_dir, root / "diff", facts)
    micro_context.workdir.mkdir()
    micro = in_child(lambda c: diff_million(c, scale), micro_context, THROTTLE, latency)
    return {
        "scale": scale.to_json(),
        "scale_text": scale.describe(),
        "latency_seconds": latency,
        "rows": rows,
        "diff": micro,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def setup_s6(root: Path, context: Context, state: RegionState, scale: world.Scale, latency: float) -> None:
    """S6's history: the weekly full drift leaves its baseline (a day after the steady state), then
    support staff make ``scale.drift_writes`` console writes (the next day), written into the world
    every later run starts from. Neither is measured."""
    directory = root / "S6-baseline"
    directory.mkdir()
    maker = Context(context.sandbox, scale, context.policy_dir, root / "S6-full-drift", context.facts, start=world.BASELINE_AT)
    maker.workdir.mkdir()
    log("S6: the full drift that leaves the baseline (not measured)")
    made = in_child(lambda c: product.make_baseline(c, directory), maker, THROTTLE, latency)
    if made.get("error"):
        raise RuntimeError(f"S6: the full drift failed: {made['error']}")
    writes = world.drift_writes(state, scale.drift_writes)
    log(f"S6: {len(writes)} out-of-git writes (not measured)")
    prepare(context.sandbox, None, 0.0, world.WRITES_AT)
    product.out_of_git_writes(context, writes, world.WRITES_AT)
    context.facts["s6_baseline"] = str(directory)
    context.facts["s6_writes"] = [(operation, name) for operation, name, _ in writes]
    context.facts["s6_numbers"] = {name: len({n for _, other, n in writes if other == name}) for _, name, _ in writes}


def settle(context: Context) -> None:
    """The apply that brings the imported account under management (it adopts what it imported),
    run once, in this process, without quotas or latency: every scenario starts from its result."""
    log("applying the imported policy once (the steady state the scenarios start from)")
    prepare(context.sandbox, None, 0.0)
    product.apply(context, context.policy_dir)
    context.notes.clear()


def row(scenario: Scenario, strategy: str, result: dict[str, Any], bound: bounds.Bound, latency: float) -> dict[str, Any]:
    lower_calls = bound.calls()
    quota_seconds = round(bound.seconds(latency), 3)
    sim = result.get("sim_seconds")
    measured = result.get("marks", {}).get("last_block", sim) if scenario.id == "S3" else sim
    calls = result.get("api_calls")
    if scenario.id == "S3":  # the block is done at the last block write: count the calls until then
        calls = result.get("metrics", {}).get("calls_until_last_block", calls)
    out = {
        "scenario": scenario.id,
        "title": scenario.title,
        "strategy": strategy,
        "api_calls": calls,
        "api_calls_total": result.get("api_calls"),
        "lower_bound_calls": lower_calls,
        "calls_ratio": round(calls / lower_calls, 3) if calls is not None else None,
        "sim_seconds": measured,
        "sim_seconds_total": sim,
        "quota_bound_seconds": quota_seconds,
        "time_ratio": round(measured / quota_seconds, 3) if measured is not None else None,
        "cpu_seconds": result.get("cpu_seconds"),
        "sandbox_cpu_seconds": result.get("sandbox_cpu_seconds"),
        "peak_memory_mib": result.get("peak_memory_mib"),
        "throttled": result.get("throttled"),
        "throttled_by_operation": result.get("throttled_by_operation", {}),
        "metrics": result.get("metrics", {}),
        "errors": result.get("errors"),
        "calls_by_operation": result.get("calls_by_operation", {}),
        "lower_bound_by_operation": bound.by_operation(),
        "lower_bound_explanation": bound.explanation,
        "marks": result.get("marks", {}),
        "extrapolated": result.get("extrapolated") or None,
        "notes": result.get("notes", []),
        "error": result.get("error"),
    }
    return out


def diff_million(context: Context, scale: world.Scale) -> None:
    """The opt-out area's diff of the large list against a policy listing it plus S2's numbers."""
    from reconciler.areas.opt_outs.area import LiveList, LiveOptOuts, OptOutsArea
    from reconciler.areas.opt_outs.spec import OptOutListSpec
    from reconciler.config.model import Desired, Target
    from reconciler.costs import Strategy

    state = context.sandbox.world.region(world.LARGE_ACCOUNT, world.REGION)
    entries = state.opt_out_lists["large-list"].entries
    present = frozenset(entries.keys())
    end_user = frozenset(n for n, e in entries.items() if e.end_user_opted_out)
    added = world.fresh_numbers(state, scale.pr_numbers)
    target = Target(world.TARGET, world.LARGE_ACCOUNT, world.REGION)
    for mode in ("additive", "exact"):
        listed = tuple(sorted([*present, *added]))
        spec = OptOutListSpec("large-list", mode, listed)  # type: ignore[arg-type]
        live = LiveOptOuts(
            lists={"large-list": state.opt_out_lists["large-list"].arn},
            read={"large-list": LiveList("large-list", "arn", Strategy("read-all", 0, 0, "bench"), complete=True,
                                         entry_count=len(present), present=present, end_user=end_user)},
        )
        started = time.process_time()
        changes = OptOutsArea().diff(Desired(target=target, opt_out_lists=(spec,)), live)
        used = time.process_time() - started
        context.notes.append(f"{mode}: {len(changes)} changes in {used:.3f} s CPU")
        context.metrics[f"{mode}_diff_cpu_seconds"] = round(used, 3)
        context.metrics[f"{mode}_changes"] = len(changes)
