"""Simulated seconds are a function of the calls made, not of how the machine schedules threads.

The product reads areas in concurrent threads, each keeping a time lane of its own on the
simulated clock; the lanes take turns in simulated-time order (reconciler/lanes.py). These tests
perturb the *wall-clock* order of the threads (real sleeps of a few milliseconds, at random, in
the sandbox's request handling or before a thread starts) and assert that what the benchmark
reports in simulated time does not move. Nothing here times anything real."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench import measure as measure_module
from bench import product, world
from bench.lanes import in_parallel
from bench.measure import THROTTLE, Context, in_child
from reconciler import lanes
from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import Clock, World

# A small account of the benchmark's shape: one 2,000-number list and three of 100; 30 phone
# numbers; 4 protect configurations; 2 shares of 5 resources.
TINY = world.Scale("tiny", 2000, 3, 100, 30, 4, 2, 5, 10, 100, 2)


def jittered(handle: Callable[[str, Any], Any], seed: int) -> Callable[[str, Any], Any]:
    """``handle`` stalling up to 20 ms of real time before some requests, at random, so the
    threads reach the sandbox (and each other) in another wall-clock order each run."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def handle_late(service: str, request: Any) -> Any:
        with lock:
            stall = rng.random() < 0.4 and rng.uniform(0.0005, 0.02)
        if stall:
            time.sleep(stall)
        return handle(service, request)

    return handle_late


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sandbox, Path]:
    """The tiny account and the policy the product's import writes for it."""
    root = tmp_path_factory.mktemp("determinism")
    sandbox = Sandbox(World(Clock(start=world.EPOCH, simulated=True)))
    world.build_large(TINY, sandbox.world)
    policy_dir = root / "policy"
    result = run(sandbox, policy_dir, root / "import", lambda c: product.import_into(c, policy_dir))
    assert result["error"] is None, result["error"]
    return sandbox, policy_dir


def run(sandbox: Sandbox, policy_dir: Path, workdir: Path, scenario: Callable[[Context], None],
        stall_seed: int | None = None) -> dict[str, Any]:
    """``scenario`` measured in a forked child, as the benchmark measures it (the child's redirects
    of the CLI's plumbing and its writes to the account end with it), with its call log as
    ``trace``; with ``stall_seed``, the sandbox stalls at random."""
    workdir.mkdir()
    gateway = sandbox.gateway
    original = getattr(gateway, "bench_original_handle", gateway.handle)
    gateway.bench_original_handle = original if stall_seed is None else jittered(original, stall_seed)
    traces = workdir.parent / f"{workdir.name}-trace"
    saved_trace_dir, measure_module.TRACE_DIR = measure_module.TRACE_DIR, traces
    try:
        result = in_child(scenario, Context(sandbox, TINY, policy_dir, workdir, {}), THROTTLE, 0.05)
    finally:
        gateway.bench_original_handle = original
        measure_module.TRACE_DIR = saved_trace_dir
    log = (traces / f"{workdir.name}.tsv").read_text(encoding="utf-8").splitlines()[1:]
    result["trace"] = sorted(log)  # "simulated seconds, service, operation, error" per call
    return result


def drift(policy_dir: Path) -> Callable[[Context], None]:
    return lambda context: product.cli(context, "drift", "--config", str(policy_dir), "--sandbox", ok=(0, 2)) and None


def test_drift_takes_the_same_simulated_time_however_the_threads_are_scheduled(
    account: tuple[Sandbox, Path], tmp_path: Path,
) -> None:
    sandbox, policy_dir = account
    steady = run(sandbox, policy_dir, tmp_path / "steady", drift(policy_dir))
    assert steady["error"] is None, steady["error"]
    assert steady["sim_seconds"] > 0
    for seed in (1, 2):
        stalled = run(sandbox, policy_dir, tmp_path / f"stalled-{seed}", drift(policy_dir), stall_seed=seed)
        assert stalled["error"] is None, stalled["error"]
        assert stalled["api_calls"] == steady["api_calls"]
        assert stalled["sim_seconds"] == steady["sim_seconds"]
        assert stalled["trace"] == steady["trace"]  # every call at the same simulated instant


def test_import_takes_the_same_simulated_time_however_the_threads_are_scheduled(
    account: tuple[Sandbox, Path], tmp_path: Path,
) -> None:
    sandbox, _ = account

    def imported(name: str) -> Callable[[Context], None]:
        return lambda context: product.import_into(context, tmp_path / name / "out")

    steady = run(sandbox, tmp_path / "unused", tmp_path / "steady", imported("steady"))
    stalled = run(sandbox, tmp_path / "unused", tmp_path / "stalled", imported("stalled"), stall_seed=5)
    assert steady["error"] is None and stalled["error"] is None, (steady["error"], stalled["error"])
    assert stalled["sim_seconds"] == steady["sim_seconds"]
    assert stalled["trace"] == steady["trace"]


def test_an_emergency_apply_takes_the_same_simulated_time_however_the_threads_are_scheduled(
    account: tuple[Sandbox, Path], tmp_path: Path,
) -> None:
    """S3's streaming apply: blocks written while rule sets are read (a queue between threads),
    the other areas waiting for protect's tags (a milestone). Each run is a forked child, as in the
    benchmark, so both start from the same account."""
    sandbox, policy_dir = account
    world.commit_policy(policy_dir, "imported policy")
    steady = run(sandbox, policy_dir, tmp_path / "steady", product.s3_block)
    assert steady["error"] is None, steady["error"]
    assert steady["marks"]["last_block"] > 0
    for seed in (6, 7):
        stalled = run(sandbox, policy_dir, tmp_path / f"stalled-{seed}", product.s3_block, stall_seed=seed)
        assert stalled["error"] is None, stalled["error"]
        for figure in ("api_calls", "calls_by_operation", "sim_seconds", "marks", "metrics", "trace"):
            assert stalled[figure] == steady[figure], figure


# The scheduler itself ------------------------------------------------------------------------------


def scheduled(clock: Clock, body: Callable[[], Any]) -> Any:
    clock.run_lanes()
    try:
        return body()
    finally:
        clock.end_lanes()


def test_a_lock_goes_to_the_earliest_lane_even_when_it_asks_last_in_wall_time() -> None:
    clock = Clock(start=0.0, simulated=True)
    lock = lanes.Lock()
    order: list[str] = []

    def holder(name: str, starts_at: float, stall: float) -> Callable[[], None]:
        def body() -> None:
            time.sleep(stall)  # real time: this thread asks for the lock later on the wall clock
            clock.sleep(starts_at)
            with lock:
                order.append(f"{name}@{clock.now():g}")
                clock.sleep(1.0)
        return body

    scheduled(clock, lambda: in_parallel(clock, [holder("early", 0.5, 0.05), holder("late", 0.7, 0.0)]))
    assert order == ["early@0.5", "late@1.5"]  # the late lane waited for the lock, in simulated time
    assert clock.latest() == 2.5


def test_a_queue_consumer_resumes_at_the_moment_the_item_was_put() -> None:
    import queue

    clock = Clock(start=0.0, simulated=True)
    items: queue.Queue[int | None] = queue.Queue()
    seen: list[tuple[int, float]] = []

    def producer() -> None:
        for item in (1, 2):
            clock.sleep(3.0)
            items.put(item)
        items.put(None)

    def consumer() -> None:
        while (item := lanes.get(items)) is not None:
            seen.append((item, clock.now()))

    scheduled(clock, lambda: in_parallel(clock, [consumer, producer]))
    assert seen == [(1, 3.0), (2, 6.0)]


def test_lanes_that_wait_for_each_other_fail_instead_of_hanging() -> None:
    clock = Clock(start=0.0, simulated=True)
    never = threading.Event()

    with pytest.raises(lanes.DeadlockError):
        scheduled(clock, lambda: lanes.wait(never))


def test_a_thread_left_waiting_for_ever_fails_its_caller_instead_of_hanging() -> None:
    clock = Clock(start=0.0, simulated=True)
    never = threading.Event()

    with pytest.raises(lanes.DeadlockError):
        scheduled(clock, lambda: in_parallel(clock, [lambda: clock.sleep(1.0), lambda: lanes.wait(never)]))
