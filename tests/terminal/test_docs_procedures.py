"""The docs' procedures do what they say: docs/github.md §4's example changes something, the
snapshot procedure leaves nothing stray in git, and the README names what the walkthrough needs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def reconciler(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180)


def section(text: str, number: int) -> str:
    start = text.index(f"\n## {number}. ")
    return text[start: text.index("\n## ", start + 1)]


def test_the_first_pull_request_example_changes_the_plan(tmp_path: Path) -> None:
    guide = section((REPO / "docs" / "github.md").read_text(), 4)
    wanted = re.search(r"make its list `ALLOW: \[([A-Z, ]+)\]`", guide)
    assert wanted and "open New Zealand for voice" in guide, guide[:400]
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "sandbox", tmp_path / "sandbox")
    protect = tmp_path / "config" / "protect.yaml"
    before = protect.read_text()
    after = before.replace("ALLOW: [US, CA, GB]", f"ALLOW: [{wanted.group(1)}]")
    assert after != before
    in_step = reconciler(tmp_path, "plan", "--sandbox", "sandbox/snapshot.json", "--detailed-exitcode")
    assert in_step.returncode == 0, in_step.stdout  # the committed snapshot is main's applied state
    protect.write_text(after)
    changed = reconciler(tmp_path, "plan", "--sandbox", "sandbox/snapshot.json", "--format", "json",
                         "--detailed-exitcode")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    changes = json.loads(changed.stdout)["plans"][0]["changes"]
    assert [c["after"] for c in changes] == [{"NZ": "ALLOW"}]


def test_the_snapshot_procedure_leaves_nothing_stray(tmp_path: Path) -> None:
    procedure = section((REPO / "docs" / "github.md").read_text(), 5)
    block = re.search(r"```sh\n(reconciler plan --config config --sandbox sandbox/snapshot.json.*?)```", procedure,
                      flags=re.S)
    assert block, "the snapshot procedure's shell block"
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "sandbox").mkdir()
    commands = [line.split("#", 1)[0].split() for line in block.group(1).splitlines() if line.strip()]
    assert [c[1] for c in commands] == ["plan", "sandbox", "apply"]
    generate, apply = commands[1], commands[2]
    assert reconciler(tmp_path, *generate[1:]).returncode == 0
    assert reconciler(tmp_path, *apply[1:]).returncode == 0
    snapshot = tmp_path / "sandbox" / "snapshot.json"
    saved = snapshot.read_bytes()
    # Running the apply again (nothing to do) must not touch the file, and no lock file appears.
    again = reconciler(tmp_path, *apply[1:])
    assert again.returncode == 0, again.stdout + again.stderr
    assert snapshot.read_bytes() == saved
    assert sorted(p.name for p in (tmp_path / "sandbox").iterdir()) == ["snapshot.json"]
    assert reconciler(tmp_path, *commands[0][1:]).returncode == 0


def test_the_readme_says_the_walkthrough_needs_the_aws_cli() -> None:
    readme = (REPO / "README.md").read_text()
    drift = readme[readme.index("**Drift.**"):]
    assert "pip install awscli" in drift[: drift.index("```")]
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"awscli' in pyproject[pyproject.index("test = ["):]
