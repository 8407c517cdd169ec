"""The executor: ranks in order, areas of a rank concurrently, first failure stops every lane."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Sequence

from reconciler.executor import run_changes
from reconciler.plan import ORDER_CREATE, ORDER_MEMBERS_ADD, ORDER_UPDATE, PHASE_BLOCKS, PHASE_MAIN, Change
from reconciler.progress import Progress


def change(area: str, key: str, order: int = ORDER_UPDATE, phase: int = PHASE_MAIN) -> Change:
    return Change(area=area, action="update", resource_type="thing", key=key, phase=phase, order=order)


class Recorder:
    """Applies changes by recording them; ``hooks`` run inside a change (to block, fail, wait)."""

    def __init__(self, hooks: dict[str, Callable[[], None]] | None = None) -> None:
        self.hooks = hooks or {}
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def apply_one(self, item: Change) -> None:
        with self.lock:
            self.events.append(("start", item.key))
        hook = self.hooks.get(item.key)
        if hook is not None:
            hook()
        with self.lock:
            self.events.append(("end", item.key))

    def parallel(self, tasks: Sequence[Callable[[], None]]) -> list[None]:
        threads = [threading.Thread(target=task) for task in tasks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [None] * len(tasks)


def progress() -> Progress:
    return Progress("t", 0, stream=io.StringIO(), tty=False)


def test_areas_of_one_rank_run_concurrently() -> None:
    # Each lane's change waits until the other lane's change has started: run one after the
    # other, the barrier would time out and the change would fail.
    barrier = threading.Barrier(2, timeout=5)
    runner = Recorder({"opt_outs/a": barrier.wait, "protect/b": barrier.wait})
    outcome = run_changes(runner, [change("opt_outs", "opt_outs/a"), change("protect", "protect/b")], progress())
    assert outcome.ok, outcome.error
    assert [c.key for c in outcome.applied] == ["opt_outs/a", "protect/b"]


def test_a_rank_starts_only_after_every_change_of_the_ranks_before_it() -> None:
    runner = Recorder({"protect/slow-create": lambda: time.sleep(0.2)})
    changes = [
        change("opt_outs", "opt_outs/members", order=ORDER_MEMBERS_ADD),
        change("protect", "protect/slow-create", order=ORDER_CREATE),
        change("opt_outs", "opt_outs/quick-create", order=ORDER_CREATE),
        change("protect", "protect/block", order=ORDER_UPDATE, phase=PHASE_BLOCKS),
    ]
    outcome = run_changes(runner, changes, progress())
    assert outcome.ok
    position = {event: index for index, event in enumerate(runner.events)}
    # blocks first, then both creates (concurrently), then the members
    assert position[("end", "protect/block")] < position[("start", "protect/slow-create")]
    assert position[("end", "protect/slow-create")] < position[("start", "opt_outs/members")]
    assert position[("end", "opt_outs/quick-create")] < position[("start", "opt_outs/members")]


def test_an_area_keeps_its_key_order_inside_a_rank() -> None:
    runner = Recorder()
    keys = ["protect/x/emergency-record/add", "protect/x/rules/SMS/block", "protect/y/rules/SMS/block"]
    outcome = run_changes(runner, [change("protect", k) for k in reversed(keys)], progress())
    assert outcome.ok
    assert [key for kind, key in runner.events if kind == "start"] == keys


def test_the_first_failure_stops_every_lane_and_reports_what_was_not_done() -> None:
    failed = threading.Event()

    def fail() -> None:
        failed.set()
        raise RuntimeError("AccessDeniedException: no")

    def wait_for_the_failure() -> None:
        assert failed.wait(5)

    runner = Recorder({"protect/1": fail, "opt_outs/1": wait_for_the_failure})
    changes = [
        change("protect", "protect/1"),
        change("protect", "protect/2"),
        change("opt_outs", "opt_outs/1"),
        change("opt_outs", "opt_outs/2"),
        change("shares", "shares/later", order=ORDER_MEMBERS_ADD),
    ]
    outcome = run_changes(runner, changes, progress())
    assert not outcome.ok
    assert outcome.failed is not None and outcome.failed.key == "protect/1"
    assert outcome.error == "RuntimeError: AccessDeniedException: no"
    # opt_outs/1 was already running: it finishes; nothing starts after the failure
    assert [c.key for c in outcome.applied] == ["opt_outs/1"]
    assert sorted(c.key for c in outcome.not_done) == ["opt_outs/2", "protect/2", "shares/later"]
    assert ("start", "opt_outs/2") not in runner.events and ("start", "shares/later") not in runner.events


def test_independent_members_of_one_area_run_in_several_lanes() -> None:
    barrier = threading.Barrier(2, timeout=5)
    runner = Recorder({"opt_outs/list/a": barrier.wait, "opt_outs/list/b": barrier.wait})
    members = [change("opt_outs", f"opt_outs/list/{k}", order=ORDER_MEMBERS_ADD) for k in "abcd"]
    outcome = run_changes(runner, members, progress())
    assert outcome.ok, outcome.error


def test_on_the_wall_clock_several_puts_are_in_flight_at_once() -> None:
    """At 100 ms or more of latency one caller cannot use a 10/s quota: calls of one operation
    overlap once each has its rate-limit slot."""
    from engine_support import policy

    from reconciler.apply import ApplyOptions, apply_target
    from reconciler.areas.opt_outs.spec import OptOutListSpec
    from reconciler.aws import SandboxSessionFactory
    from reconciler.engine import Engine
    from reconciler.sandbox import Latency, Sandbox
    from reconciler.sandbox.state import Clock, World

    sandbox = Sandbox(world=World(Clock(simulated=False)))
    numbers = tuple(f"+1206555{n:04d}" for n in range(1000, 1040))
    p = policy(opt_out_lists=(OptOutListSpec("list", "additive", numbers),))
    sandbox.gateway.latency = Latency(0.05)
    handle = sandbox.gateway.handle
    lock = threading.Lock()
    flight = {"now": 0, "most": 0}

    def counting(service: str, request: object) -> object:
        put = b"PutOptedOutNumber" in str(getattr(request, "headers", {}).get("X-Amz-Target", "")).encode()
        if put:
            with lock:
                flight["now"] += 1
                flight["most"] = max(flight["most"], flight["now"])
        try:
            return handle(service, request)
        finally:
            if put:
                with lock:
                    flight["now"] -= 1

    sandbox.gateway.handle = counting  # type: ignore[method-assign]
    engine = Engine(p, SandboxSessionFactory(sandbox), rate_scale=10.0, command="apply")  # 100 puts/s
    result = apply_target(engine, "prod", ApplyOptions())
    assert result.ok, result
    assert flight["most"] >= 2
    assert set(numbers) <= set(sandbox.world.region("111122223333", "us-east-1").opt_out_lists["list"].entries)
