"""The README's demo, run as written: its shell blocks are read from README.md itself, so the
test fails when the README and the product drift apart.

Two departures from typing the commands by hand, both forced by running unattended: the apply
line gets a pseudo-terminal whose user types ``yes``, and the drift block waits for the server to
listen before its next line (a person does that by reading the "listening" message); the server's
port is a free one instead of 4566 so parallel test runs cannot collide.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
BIN = Path(sys.executable).parent


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECONCILER_"))}
    clean.update(PATH=f"{BIN}{os.pathsep}{clean.get('PATH', '')}", HOME=clean.get("HOME", "/tmp"),
                 AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="")
    return clean


def bash(script: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)


def on_a_terminal(command: str, cwd: Path, answer: str, timeout: float = 180) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as stdin/stdout/stderr; type ``answer`` when asked."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env(), stdin=follower, stdout=follower,
                               stderr=follower, close_fds=True)
    os.close(follower)
    output = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([leader], [], [], 1.0)[0]:
            continue  # nothing to read yet: look at the deadline again
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"Only 'yes' is accepted" in output:
            os.write(leader, answer.encode() + b"\n")
            answered = True
    os.close(leader)
    return process.wait(timeout=30), output.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """What a fresh clone holds that the demo reads: the example policy."""
    if shutil.which("reconciler", path=str(BIN)) is None:
        pytest.skip("the reconciler console script is not installed next to this Python")
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path


def test_the_set_up_command_plans_the_example_policy_against_the_sandbox(clone: Path) -> None:
    first = sh_blocks(README.read_text())[0].splitlines()[0]
    assert first.startswith("pip install -e . && ")
    demo = first.split(" && ", 1)[1]
    result = bash(demo, clone)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Plan: "), result.stdout[:300]
    assert "Phase 1 — blocks" in result.stdout


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is a test dependency")
def test_the_five_minute_walkthrough_runs_as_written(clone: Path) -> None:
    text = README.read_text()
    walkthrough = text.split("## Five-minute walkthrough", 1)[1].split("\n## ", 1)[0]
    snapshot, plans, apply, drift = sh_blocks(walkthrough)

    made = bash(snapshot, clone)
    assert made.returncode == 0 and (clone / "state.json").exists(), made.stderr

    for line in plans.strip().splitlines():
        result = bash(line, clone)
        assert result.returncode == 0, (line, result.stderr)
        if "--format json" in line:
            assert json.loads(result.stdout)["format"] == "sms-policy-reconciler/plan"
        elif line.startswith("reconciler check"):  # the example guardrails over the saved plan
            assert "guardrails: 5 rule(s)" in result.stdout and result.stdout.endswith("exit 0\n"), result.stdout
        else:
            assert result.stdout.startswith("Plan: ")
    saved = (clone / "plan.json").read_text()
    assert not re.search(r"\+1206555\d{4}", saved)  # no raw opted-out number in the saved plan

    apply_line, replan_line = apply.strip().splitlines()
    code, shown = on_a_terminal(apply_line, clone, "yes")
    assert code == 0, shown[-2000:]
    assert "Apply complete:" in shown
    replanned = bash(replan_line, clone)
    assert replanned.stdout.startswith("No changes"), replanned.stdout[:300]
    assert replanned.stdout.rstrip().endswith("exit 0")

    port = str(free_port())
    lines = drift.replace("4566", port).splitlines()
    serve = next(i for i, line in enumerate(lines) if "sandbox serve" in line)
    wait = f"for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done"
    script = "\n".join([*lines[: serve + 1], wait, *lines[serve + 1 :], "wait"])
    result = bash(script, clone)
    assert "exit 2" in result.stdout, result.stdout + result.stderr
    assert "\nDrift: 0 drifted, 0 missing, 1 unmanaged.\n" in result.stdout, result.stdout
    assert "shadow" in result.stdout
    # The server saved the change made behind the policy's back.
    assert "shadow" in (clone / "state.json").read_text()
