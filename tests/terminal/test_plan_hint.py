"""`plan --out` prints an apply command that works when copied: it keeps --config, --sandbox
and --target."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def reconciler(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_printed_apply_command_applies_the_saved_plan(tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "policy")
    made = reconciler(tmp_path, "sandbox", "snapshot", "--generate", "example", "--account", "111111111111",
                      "--config", "policy", "--out", "my state.json")
    assert made.returncode == 0, made.stderr
    planned = reconciler(tmp_path, "plan", "--config", "policy", "--sandbox", "my state.json", "--target", "prod",
                         "--out", "plan.json")
    assert planned.returncode == 0, planned.stderr
    hint = planned.stderr.split("apply it with: ", 1)[1].strip()
    assert hint == "reconciler apply plan.json --config policy --sandbox 'my state.json' --target prod"

    # Copied as printed (plus --auto-approve: the test has no terminal to answer 'yes').
    words = shlex.split(hint)
    applied = reconciler(tmp_path, *words[1:], "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete" in applied.stdout
    again = reconciler(tmp_path, "plan", "--config", "policy", "--sandbox", "my state.json", "--format", "json")
    assert all(not p["changes"] for p in json.loads(again.stdout)["plans"])
