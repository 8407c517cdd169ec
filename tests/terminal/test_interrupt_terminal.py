"""Ctrl-C at a terminal during `apply --auto-approve --sandbox FILE` (driven through a pty):
exit 130 promptly, a summary of what was applied that no progress bar draws over, and the
saved sandbox file holding exactly the writes that were acknowledged."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pty_support import Terminal

REPO = Path(__file__).resolve().parents[2]


def entries(path: Path, name: str) -> int:
    document = json.loads(path.read_text())
    return sum(len(region["opt_out_lists"][name]["entries"]) for region in document["regions"]
               if name in region["opt_out_lists"])


def test_ctrl_c_stops_apply_within_a_second_and_saves_what_was_acknowledged(tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    subprocess.run([sys.executable, "-m", "reconciler", "sandbox", "snapshot", "--generate", "example",
                    "--account", "111111111111", "--out", "state.json"], cwd=tmp_path, check=True, capture_output=True)
    state = tmp_path / "state.json"
    before = entries(state, "shared-optouts")
    # At twice AWS's default quotas the 176 opted-out additions take about 9 s: time to interrupt.
    term = Terminal(["apply", "--auto-approve", "--sandbox", "state.json"], tmp_path, {"RECONCILER_RATE_SCALE": "2"})
    bar = re.compile(rb"\] (\d+)/\d+ opt_outs/shared-optouts/")
    assert term.read_until(lambda out: len(bar.findall(out)) >= 10), term.text
    signalled = time.monotonic()
    os.kill(term.process.pid, signal.SIGINT)
    code = term.finish()
    elapsed = time.monotonic() - signalled
    text = term.text

    assert code == 130, text
    assert elapsed < 1.0, f"{elapsed:.2f} s from SIGINT to exit"
    summary = text[text.index("Apply INTERRUPTED"):]
    assert "\r\x1b[K[" not in summary, "the progress bar was drawn over the summary"
    assert summary.rstrip().endswith("interrupted")
    applied = re.search(r"target prod: applied (.*)", summary)
    assert applied, summary
    counts = dict((area, int(n)) for area, n in re.findall(r"(\w+) (\d+)", applied.group(1)))
    assert counts.get("opt_outs", 0) >= 1
    # Exactly the acknowledged additions are in the saved file: none lost, none made after Ctrl-C.
    assert entries(state, "shared-optouts") - before == counts["opt_outs"]
    assert not (tmp_path / "state.json.lock").exists()
