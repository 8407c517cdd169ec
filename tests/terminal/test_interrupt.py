"""Ctrl-C: no AWS call starts after it, in the read phase or while writing; the calls in flight
finish; an interrupted apply reports what AWS acknowledged and saves exactly that."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler import interrupt
from reconciler.apply import ApplyOptions, apply_target
from reconciler.aws import READ_PREFIXES, CallRecord, SandboxSessionFactory
from reconciler.config import load_policy
from reconciler.engine import Engine
from reconciler.sandbox import Sandbox
from reconciler.sandbox.generator import generate_example

CONFIG = Path(__file__).resolve().parents[2] / "config"
ACCOUNT, REGION = "111111111111", "us-east-1"


@pytest.fixture
def handling() -> Iterator[None]:
    with interrupt.handling():
        yield


class CtrlC:
    """An Api listener that 'presses Ctrl-C' after ``after`` calls of the kind counted, and
    counts the calls answered after that (those already in flight)."""

    def __init__(self, after: int, counted: Callable[[str], bool]) -> None:
        self.after, self.counted = after, counted
        self.seen = 0
        self.answered_after: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, record: CallRecord) -> None:
        with self.lock:
            if interrupt.requested():
                self.answered_after.append(record.operation)
                return
            if self.counted(record.operation):
                self.seen += 1
                if self.seen == self.after:
                    interrupt.request()


def example() -> tuple[Engine, Sandbox]:
    policy, _ = load_policy(str(CONFIG))
    assert policy is not None
    sandbox = Sandbox()
    generate_example(sandbox.world, account=ACCOUNT, region=REGION, config_dir=str(CONFIG))
    return Engine(policy, SandboxSessionFactory(sandbox), rate_scale=0, command="apply"), sandbox


def test_no_read_starts_after_ctrl_c_in_the_read_phase(handling: None) -> None:
    engine, _ = example()
    ctrl_c = CtrlC(after=3, counted=lambda op: op.startswith(READ_PREFIXES))
    engine.call_listener = lambda name: ctrl_c
    run = engine.start("prod")
    with pytest.raises(interrupt.Interrupted):
        engine.plan(run)
    # Areas are read side by side (4 threads): at most one call each was in flight.
    assert len(ctrl_c.answered_after) <= 4
    total = sum(run.api.calls.values())
    assert total <= 1 + 3 + 4  # the identity check, the reads before, those in flight


def test_an_interrupted_apply_writes_nothing_new_and_lists_what_was_acknowledged(handling: None) -> None:
    engine, sandbox = example()
    region = sandbox.world.region(ACCOUNT, REGION)
    before = len(region.opt_out_lists["shared-optouts"].entries)
    ctrl_c = CtrlC(after=20, counted=lambda op: op == "PutOptedOutNumber")
    engine.call_listener = lambda name: ctrl_c
    options = ApplyOptions()
    with pytest.raises(interrupt.Interrupted):
        apply_target(engine, "prod", options)
    added = [c for c in options.acknowledged if c.area == "opt_outs" and c.action == "add"]
    # Each member lane had at most one write in flight; none started after Ctrl-C.
    assert 20 <= len(added) <= 20 + 4
    assert ctrl_c.answered_after.count("PutOptedOutNumber") <= 4
    assert len(region.opt_out_lists["shared-optouts"].entries) - before == len(added)


def test_sleeps_end_at_once_on_ctrl_c(handling: None) -> None:
    import time

    timer = threading.Timer(0.1, interrupt.request)
    timer.start()
    started = time.monotonic()
    with pytest.raises(interrupt.Interrupted):
        interrupt.sleep(30)
    assert time.monotonic() - started < 1
