"""Hardening rules every workflow must keep (actionlint checks syntax; these check policy)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return dict(document)


def test_the_five_workflows_exist() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "plan.yml", "apply.yml", "drift.yml", "emergency-block.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_commit_shas_with_their_version(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
        if match:
            assert PINNED.match(match.group(1)), f"{path.name}:{number}: {match.group(1)} is not pinned to a commit SHA"
            assert re.search(r"#\s*v\d", match.group(2)), f"{path.name}:{number}: add the version as a comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_minimal_permissions_and_no_pull_request_target(path: Path) -> None:
    document = load(path)
    triggers = document["on"]
    assert "pull_request_target" not in (triggers if isinstance(triggers, dict) else [triggers])
    assert document.get("permissions") == {"contents": "read"}, "default to read-only at the top"
    for name, job in document["jobs"].items():
        granted = job.get("permissions", document["permissions"])
        writes = {scope for scope, level in granted.items() if level == "write"}
        if path.name in ("ci.yml",):
            assert not writes, f"{name}: CI needs no write scope"
        if "id-token" in writes:
            assert any("configure-aws-credentials" in str(step.get("uses", "")) for step in job["steps"]), name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_secret_or_untrusted_expression_inside_scripts(path: Path) -> None:
    document = load(path)
    for name, job in document["jobs"].items():
        for step in job.get("steps", []):
            script = step.get("run", "")
            # Values reach scripts through env:, never interpolated into the script text.
            assert "${{" not in script, f"{path.name} {name}: expression inside a script: {script[:80]!r}"
            # Only these secrets reach a step, each under its own name: the workflow token, and
            # the plan key that encrypts drift checkpoints (reconciler/checkpoint.py).
            for variable, value in (step.get("env") or {}).items():
                allowed = {"GITHUB_TOKEN", "RECONCILER_PLAN_KEY"}
                assert "secrets." not in str(value) or (
                    variable in allowed and str(value) == f"${{{{ secrets.{variable} }}}}"
                ), (path.name, name, variable)


def test_apply_is_serialised_per_target_and_never_cancelled() -> None:
    job = load(WORKFLOWS[[p.name for p in WORKFLOWS].index("apply.yml")])["jobs"]["apply"]
    assert job["concurrency"] == {"group": "apply-${{ matrix.target }}", "cancel-in-progress": False}
    assert job["environment"] == "${{ matrix.target }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_actionlint_passes_on_every_workflow() -> None:
    """The same check CI runs (.ci/run); actionlint comes with the test extras."""
    actionlint = shutil.which("actionlint")
    assert actionlint, "actionlint is missing: pip install -e '.[test]'"
    result = subprocess.run([actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fork_pull_requests_plan_against_a_committed_snapshot_in_step_with_main() -> None:
    """plan.yml's SANDBOX_SNAPSHOT exists, loads, and holds the state main's policy describes, so a
    fork's comment shows only what the fork changes."""
    snapshot = REPO / load(REPO / ".github" / "workflows" / "plan.yml")["env"]["SANDBOX_SNAPSHOT"]
    assert snapshot.is_file(), f"{snapshot} is missing: see docs/github.md, 'The sandbox snapshot'"
    code = main(["plan", "--config", str(REPO / "config"), "--sandbox", str(snapshot), "--detailed-exitcode"])
    assert code == 0, f"{snapshot} no longer matches config/: regenerate it (docs/github.md, 'The sandbox snapshot')"


def test_a_failed_plan_still_replaces_the_sticky_comment() -> None:
    """A reviewer must never read the previous push's plan as if it described the current one."""
    plan = load(REPO / ".github" / "workflows" / "plan.yml")
    comment = plan["jobs"]["comment"]
    assert comment["needs"] == ["validate", "plan"] and comment["if"] == "${{ !cancelled() }}"
    render = next(step for step in comment["steps"] if step.get("name") == "Render the comment")
    assert "No plan for commit" in render["run"]
    fork_poster = load(REPO / ".github" / "workflows" / "plan-comment.yml")["jobs"]["post"]
    assert "conclusion == 'failure'" in fork_poster["if"]
