"""Two applies on one sandbox snapshot file never lose each other's changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reconciler.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]


def _apply(config: Path, snapshot: Path, only: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--config", str(config),
         "--sandbox", str(snapshot), "--only", only],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_concurrent_sandbox_applies_both_land(tmp_path: Path) -> None:
    snapshot = tmp_path / "state.json"
    made = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "snapshot", "--generate", "example",
         "--account", "111111111111", "--out", str(snapshot)],
        cwd=REPO, capture_output=True, text=True,
    )
    assert made.returncode == 0, made.stderr
    config = REPO / "config"
    first, second = _apply(config, snapshot, "protect"), _apply(config, snapshot, "phone_numbers")
    for process in (first, second):
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
    # Both applies' changes are in the final snapshot: a plan of those areas is empty.
    check = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--config", str(config), "--sandbox", str(snapshot),
         "--only", "protect", "--only", "phone_numbers", "--detailed-exitcode"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert Sandbox.from_snapshot(snapshot).world.regions
