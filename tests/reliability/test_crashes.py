"""SIGKILL the apply process at random points, many times over, then rerun it.

Each round kills a chain of applies on one account - right after a write took effect but before
its response arrived, with a write in flight, or after a random delay (often mid-read) - and
then lets one apply finish. Every time: the finished apply converges and verifies, the next plan
is empty, no end-user opt-out was ever deleted (the sandbox watches every DeleteOptedOutNumber),
nothing was created twice, and the lock a killed apply left behind does not block the rerun.
Seeded; 20 kills in CI, 500 with --soak.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scenario
import soakmode
from crashbox import CrashBox, start_cli, wait

from reconciler.cli import main

SEED = 20261127
KILLS = soakmode.scale(ci=20, soak=500)
CHAIN = 5  # kills in a row on one account before an apply may finish


@pytest.fixture(scope="module")
def box() -> Iterator[CrashBox]:
    import botocore.loaders
    import botocore.session

    from reconciler.cli import build_parser

    build_parser()  # import every command once, so forked applies start warm
    # Forked applies inherit one botocore data loader with the service models already parsed
    # (the same files every session would read): each apply starts in milliseconds, not seconds.
    shared = botocore.loaders.create_loader()
    for service in ("sts", "pinpoint-sms-voice-v2", "ram"):
        shared.load_service_model(service, "service-2")
        shared.load_service_model(service, "endpoint-rule-set-1")
    patch = pytest.MonkeyPatch()
    patch.setattr(botocore.session, "create_loader", lambda *_args, **_kwargs: shared)
    crash_box = CrashBox()
    try:
        yield crash_box
    finally:
        crash_box.close()
        patch.undo()


def expected_marketing() -> dict[str, bool]:
    return {
        **{n: False for n in (*scenario.KEPT_MANUAL, *scenario.NEW_MARKETING)},
        **{n: True for n in scenario.END_USER},
    }


def assert_end_user_opt_outs_kept(state: dict[str, Any]) -> None:
    marketing = state["opt_outs"]["marketing"]
    assert all(marketing.get(n) is True for n in scenario.END_USER), "an end-user opt-out was removed"
    assert state["opt_outs"]["legacy"].get("+12065550142") is True


def apply_argv(config: Path) -> list[str]:
    return ["apply", "--auto-approve", "--config", str(config), "--lock-timeout", "30"]


def test_killed_applies_rerun_to_convergence(box: CrashBox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = scenario.write_config(tmp_path / "config")
    env = box.env(str(config), str(tmp_path / "locks"))
    rng = random.Random(SEED)

    # How many writes one uninterrupted apply makes, to pick kill points inside it.
    for _warm_then_measure in range(2):
        box.reset()
        before, started = box.writes, time.monotonic()
        assert wait(start_cli(apply_argv(config), env, str(tmp_path / "clean.log"))) == 0
        seconds_per_apply = time.monotonic() - started
        writes_per_apply = box.writes - before
    assert writes_per_apply >= 20

    kills = completed_early = rounds = 0
    while kills < KILLS:
        rounds += 1
        box.reset()
        round_start = box.writes
        for link in range(CHAIN):
            log = str(tmp_path / f"round{rounds}-kill{link}.log")
            mode = rng.choice(["after-write", "before-write", "delay"])
            if mode == "delay":
                run = start_cli(apply_argv(config), env, log)
                time.sleep(rng.uniform(0.0, 0.8 * seconds_per_apply))
                with contextlib.suppress(ProcessLookupError):
                    os.kill(run.pid, signal.SIGKILL)
            else:
                remaining = writes_per_apply - (box.writes - round_start)  # about: reruns repeat a few
                point = rng.randint(1, max(1, remaining * 4 // 5))

                def arm(pid: int, point: int = point, mode: str = mode) -> None:
                    box.arm(pid, point, before=mode == "before-write")

                run = start_cli(apply_argv(config), env, log, arm=arm)
            code = wait(run)
            box.disarm()
            if code == -signal.SIGKILL:
                kills += 1
            else:  # finished before the kill point: it must have succeeded
                completed_early += 1
                assert code == 0, Path(log).read_text()[-3000:]
            assert box.violations == 0, "an end-user opt-out was deleted"
            assert_end_user_opt_outs_kept(box.state())
        final_log = tmp_path / f"round{rounds}-final.log"
        code = wait(start_cli(apply_argv(config), env, str(final_log)))
        output = final_log.read_text()
        assert code == 0 and "Apply complete" in output, output[-3000:]
        state = box.state()
        assert state["opt_outs"]["marketing"] == expected_marketing()
        assert set(state["opt_outs"]["alerts"]) == set(scenario.ALERTS)
        assert state["protect_names"] == ["baseline", "strict"], "a resource was created twice"
        assert state["share_names"] == ["partner-numbers"], "a resource share was created twice"
        assert_end_user_opt_outs_kept(state)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main(["plan", "--config", str(config), "--detailed-exitcode"]) == 0
    assert box.violations == 0
    soakmode.tally("apply processes killed (SIGKILL)", kills)
    soakmode.tally("crash rounds converged", rounds)
    soakmode.tally("applies that finished before their kill point", completed_early)
