"""Progress where someone watches (a live line on a terminal during reads), throttled structured
events where something logs, and the plan on stdout free of log lines."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pty_support import Terminal

from reconciler import progress
from reconciler.aws import CallRecord
from reconciler.logs import configure

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress")
    shutil.copytree(REPO / "config", path / "config")
    subprocess.run([sys.executable, "-m", "reconciler", "sandbox", "snapshot", "--generate", "example",
                    "--account", "111111111111", "--out", "state.json"], cwd=path, check=True, capture_output=True)
    return path


def test_a_terminal_sees_a_live_read_line_that_is_gone_before_the_plan(workdir: Path) -> None:
    # At twice AWS's default quotas the example account reads for a few seconds.
    term = Terminal(["plan", "--sandbox", "state.json"], workdir, {"RECONCILER_RATE_SCALE": "2"})
    assert term.finish() == 0, term.text
    text = term.text
    assert re.search(r"Reading prod: \d+ read calls?, \d+ s \(Ctrl-C stops\)", text)
    before_plan = text[: text.index("Plan: ")]
    assert before_plan.endswith("\r\x1b[K"), repr(before_plan[-80:])  # the line was cleared first
    assert "Reading prod" not in text[text.index("Plan: "):]
    assert "[info" not in text  # no timestamped log lines on a terminal


def test_without_a_terminal_stderr_is_quiet_and_stdout_holds_only_the_plan(workdir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--sandbox", "state.json"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("Plan: ")
    assert result.stderr == ""


def test_without_a_terminal_read_progress_is_an_event_every_period(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "PERIOD", 0.1)
    logs = io.StringIO()
    configure("json", 0, stream=logs)
    try:
        reads = progress.ReadProgress("prod", stream=io.StringIO(), tty=False)
        started = time.monotonic()
        calls = 0
        while time.monotonic() - started < 0.55:
            reads(CallRecord("pinpoint-sms-voice-v2", "DescribeOptedOutNumbers", 1.0, 0, "ok"))
            reads(CallRecord("pinpoint-sms-voice-v2", "PutOptedOutNumber", 1.0, 0, "ok"))  # not a read
            calls += 1
            time.sleep(0.001)
    finally:
        configure("console", 0)
    events = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert calls > 100
    assert 3 <= len(events) <= 6  # one every 0.1 s, not one per call
    assert all(e["event"] == "read.progress" and e["target"] == "prod" for e in events)
    assert events[-1]["calls"] <= calls


def test_apply_steps_without_a_terminal_are_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.plan import Change

    logs = io.StringIO()
    configure("json", 0, stream=logs)
    try:
        bar = progress.Progress("prod", 100, stream=io.StringIO(), tty=False)
        for index in range(100):
            change = Change("opt_outs", "add", "opted-out-number", f"opt_outs/list/+1206555****#{index}")
            bar.start(change)
            bar.finish(change, "failed" if index == 50 else "ok")
    finally:
        configure("console", 0)
    steps = [json.loads(line)["step"] for line in logs.getvalue().splitlines()]
    assert steps == [1, 51, 100]  # the first, the failure, the last: not 100 lines
