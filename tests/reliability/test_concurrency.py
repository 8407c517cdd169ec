"""Two runs against one target: they never interleave, and a saved plan another run made stale
is refused.

Concurrent applies run as separate processes with the lock directory in RECONCILER_LOCK_URL; the
sandbox records which process (by its SDK app id) made every write, so interleaving is visible.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import scenario
import soakmode
from crashbox import CrashBox, start_cli, wait
from sandboxhttp import Served, serve

from reconciler.cli import main
from reconciler.locking import LocalFileLockBackend, acquire

TARGET = f"{scenario.ACCOUNT}/{scenario.REGION}"


@pytest.fixture(scope="module")
def box() -> Iterator[CrashBox]:
    from reconciler.cli import build_parser

    build_parser()
    crash_box = CrashBox()
    try:
        yield crash_box
    finally:
        crash_box.close()


@pytest.mark.parametrize("round_no", range(soakmode.scale(ci=2, soak=20)))
def test_two_applies_at_once_do_not_interleave(box: CrashBox, tmp_path: Path, round_no: int) -> None:
    config = scenario.write_config(tmp_path / "config")
    box.reset()
    box.write_log()
    runs = []
    for name in ("first", "second"):
        env = {**box.env(str(config), str(tmp_path / "locks")), "AWS_SDK_UA_APP_ID": name}
        runs.append(start_cli(["apply", "--auto-approve", "--config", str(config), "--lock-timeout", "60"], env, str(tmp_path / f"{name}.log")))
    codes = [wait(run) for run in runs]
    outputs = [Path(run.log).read_text() for run in runs]
    assert codes == [0, 0], outputs
    writers = box.write_log()
    # One apply made every change; the other waited for the lock, then found nothing to do.
    assert len(writers) >= 20
    assert len(set(writers)) == 1, f"writes interleaved: {writers}"
    assert sum("Apply complete: 0 change(s)" in out for out in outputs) == 1, outputs
    soakmode.tally("concurrent apply pairs (never interleaved)")


@pytest.fixture
def served() -> Iterator[Served]:
    with serve(scenario.new_world()) as served:
        yield served


def cli(served: Served, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    for key, value in served.env().items():
        monkeypatch.setenv(key, value)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


def test_held_lock_refuses_apply_with_holder_and_force_unlock(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = str(scenario.write_config(tmp_path / "config"))
    locks = str(tmp_path / "locks")
    holder = acquire(TARGET, LocalFileLockBackend(locks), operation="apply", ttl=3600)
    writes = served.writes()
    code, out, err = cli(served, monkeypatch, "apply", "--auto-approve", "--config", config, "--lock-url", locks, "--lock-timeout", "0")
    assert code == 1
    assert f"error: target {TARGET} is locked by {holder.info.holder} (pid {os.getpid()}" in err
    assert "for apply since" in err and f"lock id {holder.id}" in err
    assert f"reconciler force-unlock {TARGET} --lock-id {holder.id}" in err
    assert "Traceback" not in err + out
    assert served.writes() == writes, "an apply that did not get the lock changed something"
    # The holder is declared dead: force-unlock by its id, then the apply runs.
    assert cli(served, monkeypatch, "force-unlock", TARGET, "--lock-id", holder.id, "--lock-url", locks)[0] == 0
    code, out, err = cli(served, monkeypatch, "apply", "--auto-approve", "--config", config, "--lock-url", locks)
    assert code == 0, out + err
    assert holder.release() is False  # its lock was taken away; it must not delete anyone else's
    assert not list(Path(locks).glob("*.lock"))


def test_saved_plan_made_stale_by_another_apply_is_refused(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = scenario.write_config(tmp_path / "config")
    plan_file = str(tmp_path / "plan.json")
    assert cli(served, monkeypatch, "plan", "--config", str(config), "--out", plan_file)[0] == 0
    # Another change lands first: a different policy (one more opt-out list) is applied.
    other = tmp_path / "other"
    scenario.write_config(other)
    policy = (other / "policy.yaml").read_text() + '  - name: urgent\n    numbers: ["+13125550100"]\n'
    (other / "policy.yaml").write_text(policy)
    code, out, err = cli(served, monkeypatch, "apply", "--auto-approve", "--config", str(other))
    assert code == 0, out + err
    writes = served.writes()
    code, out, err = cli(served, monkeypatch, "apply", plan_file, "--auto-approve", "--config", str(config))
    assert code == 1
    assert re.search(r"the saved plan (is stale|no longer matches)", err), err
    assert "plan" in err and "Traceback" not in err + out
    assert served.writes() == writes, "a stale plan changed something"
    soakmode.tally("stale saved plans refused")
