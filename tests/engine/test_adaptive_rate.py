"""The client slows an operation down when AWS throttles it, instead of burning its retry budget."""

from __future__ import annotations

from engine_support import Harness, policy

from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.aws import RateLimiter, SandboxSessionFactory
from reconciler.engine import Engine
from reconciler.sandbox import Latency, Quotas
from reconciler.sandbox.state import OptOutEntry

PAGES = 150


def test_a_lower_account_quota_than_the_default_is_found_and_kept() -> None:
    harness = Harness()
    numbers = tuple(f"+1206555{n:04d}" for n in range(PAGES * 100))
    p = policy(opt_out_lists=(OptOutListSpec("big", "exact", numbers),))
    assert harness.apply(policy(opt_out_lists=(OptOutListSpec("big", "exact", ()),))).ok
    entries = harness.state().opt_out_lists["big"].entries
    now = harness.sandbox.world.clock.now()
    for number in numbers:
        entries[number] = OptOutEntry(now, False)
    # This account's quota is a quarter of AWS's default, which is what the client assumes.
    harness.sandbox.gateway.quotas = Quotas(rates={"DescribeOptedOutNumbers": 0.25}, mode="throttle")
    harness.sandbox.gateway.latency = Latency(0.05)
    harness.sandbox.calls.clear()
    clock = harness.sandbox.world.clock
    engine = Engine(p, SandboxSessionFactory(harness.sandbox), rate_scale=1.0, clock=clock.now, sleep=clock.sleep,
                    command="drift")
    started = clock.now()
    plan = engine.plan(engine.start("prod"))

    assert plan.changes == []  # every page was read: nothing drifted
    pages = [c for c in harness.sandbox.calls if c.operation == "DescribeOptedOutNumbers"]
    throttled = [c for c in pages if c.error == "ThrottlingException"]
    assert len(pages) - len(throttled) == PAGES
    # Without adapting, three calls in four would be throttled (well past the 200-retry budget).
    assert len(throttled) <= 20, len(throttled)
    assert engine.apis[0].retries_used <= 20
    # ... and the read runs close to the quota it gets: 150 pages at 0.25/s is 600 s.
    assert clock.now() - started < 600 * 1.3


def test_the_rate_recovers_after_the_pressure_is_gone() -> None:
    limiter = RateLimiter({("s", "Op"): 1.0}, clock=lambda: 0.0, sleep=lambda _: None)
    limiter.throttled("s", "Op")
    limiter.throttled("s", "Op")
    assert limiter.rate("s", "Op") == 0.7 * 0.7
    for _ in range(9):
        limiter.succeeded("s", "Op")
    assert limiter.rate("s", "Op") == 0.7 * 0.7  # one success is no trend
    limiter.succeeded("s", "Op")
    assert limiter.rate("s", "Op") == 0.7 * 0.7 * 1.25
    for _ in range(60):
        limiter.succeeded("s", "Op")
    assert limiter.rate("s", "Op") == 1.0  # back to the declared rate, never above it
    for _ in range(20):
        limiter.throttled("s", "Op")
    assert limiter.rate("s", "Op") == 1 / 16  # never below a sixteenth: a transient burst cannot stall a run
