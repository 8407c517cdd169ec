"""The GitHub commands end to end: real engine plans against the committed sandbox snapshot,
rendered and posted to the local GitHub-like server. The reusable workflows' own scripts are run
step by step in test_scaffold_workflow_steps.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_github import FakeGitHub

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = str(REPO / "sandbox" / "snapshot.json")


def policy_copy(tmp_path: Path, name: str) -> Path:
    config = tmp_path / name
    shutil.copytree(REPO / "config", config)
    return config


def open_au_and_block_ng(config: Path) -> None:
    protect = config / "protect.yaml"
    text = protect.read_text(encoding="utf-8")
    assert "        BLOCK: [AU]" in text
    protect.write_text(text.replace("        BLOCK: [AU]", "        BLOCK: [NZ]"), encoding="utf-8")
    assert main(["block", "NG", "--capability", "SMS", "--reason", "SMS pumping, INC-77", "--config", str(config)]) == 0


def test_plan_workflow_fork_pull_request_comment_is_posted_then_updated(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pr_config, base_config = policy_copy(tmp_path, "pr"), policy_copy(tmp_path, "base")
    open_au_and_block_ng(pr_config)
    pr_plan, base_plan, comment = tmp_path / "pr.json", tmp_path / "base.json", tmp_path / "comment.md"
    for config, out in ((pr_config, pr_plan), (base_config, base_plan)):
        assert main(["plan", "--config", str(config), "--target", "prod", "--sandbox", SNAPSHOT, "--out", str(out)]) == 0
    assert main(["github", "render", "--plan", str(pr_plan), "--base-drift", str(base_plan), "--fork",
                 "--artifact-url", "https://github.com/acme/messaging-policy/actions/runs/9", "--out", str(comment)]) == 0
    body = comment.read_text(encoding="utf-8")
    assert "Planned against the committed sandbox snapshot, not live AWS" in body
    # The committed snapshot is main's policy applied: nothing is drift, everything is this PR's.
    assert "**2 change(s) in this pull request** across 1 target(s); **0 already drifted**" in body
    assert "**Opens** AU (Australia) for SMS on `prod-default` (BLOCK → ALLOW)" in body
    assert "**Blocks** NZ (New Zealand) for SMS on `prod-default` (ALLOW → BLOCK)" in body
    assert "**Blocks** NG (Nigeria) for SMS on `prod-default` (MONITOR → BLOCK)" in body

    # The artifact's full report: the same content, never summarised.
    full = tmp_path / "report.md"
    assert main(["github", "render", "--plan", str(pr_plan), "--base-drift", str(base_plan), "--fork", "--full",
                 "--out", str(full)]) == 0
    assert "**Opens** AU (Australia)" in full.read_text(encoding="utf-8")

    pull = github.state.add_pull(head_sha="d" * 40)
    assert main(["github", "comment", "--pr", str(pull), "--body-file", str(comment), "--expect-head-sha", "d" * 40]) == 0
    (posted,) = github.state.comments_on(pull)
    assert posted["body"] == "<!-- sms-policy-reconciler:plan:all -->\n" + body

    # The next push reverts the NZ line: the same comment is updated in place.
    protect = pr_config / "protect.yaml"
    protect.write_text(protect.read_text(encoding="utf-8").replace("BLOCK: [NZ]", "BLOCK: [AU]"), encoding="utf-8")
    assert main(["plan", "--config", str(pr_config), "--target", "prod", "--sandbox", SNAPSHOT, "--out", str(pr_plan)]) == 0
    assert main(["github", "render", "--plan", str(pr_plan), "--base-drift", str(base_plan), "--fork",
                 "--out", str(comment)]) == 0
    assert main(["github", "comment", "--pr", str(pull), "--body-file", str(comment), "--expect-head-sha", "d" * 40]) == 0
    (updated,) = github.state.comments_on(pull)
    assert updated["id"] == posted["id"]
    assert "**1 change(s) in this pull request**" in updated["body"]
    assert "AU (Australia)" not in updated["body"] and "NZ (New Zealand)" not in updated["body"]
    assert "**Blocks** NG (Nigeria)" in updated["body"]
    capsys.readouterr()


def test_drift_workflow_opens_then_closes_the_issue(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """drift.yml's step: exit 2 -> render --mode drift -> drift-issue; exit 0 -> drift-issue --clean."""
    drifted = policy_copy(tmp_path, "drifted")  # a policy that live no longer matches
    open_au_and_block_ng(drifted)
    capsys.readouterr()
    assert main(["drift", "--config", str(drifted), "--target", "prod", "--sandbox", SNAPSHOT, "--format", "json"]) == 2
    report_json = tmp_path / "drift.json"
    report_json.write_text(capsys.readouterr().out, encoding="utf-8")
    report = tmp_path / "drift.md"
    assert main(["github", "render", "--mode", "drift", "--plan", str(report_json), "--title", "SMS policy drift on prod",
                 "--out", str(report)]) == 0
    assert main(["github", "drift-issue", "--target", "prod", "--report-file", str(report)]) == 0
    (issue,) = github.state.issues.values()
    assert issue["state"] == "open" and issue["labels"] == [{"name": "drift"}]
    assert "**Live has blocked** AU (Australia) for SMS on `prod-default`" in issue["body"]
    assert "+1206555" not in issue["body"] or "****" in issue["body"]

    # Live matches main's policy again: exit 0, and the issue is closed with a comment.
    assert main(["drift", "--config", str(REPO / "config"), "--target", "prod", "--sandbox", SNAPSHOT,
                 "--format", "json"]) == 0
    assert main(["github", "drift-issue", "--target", "prod", "--clean", "--run-url", "https://ci/run/10"]) == 0
    assert issue["state"] == "closed"
    (closing,) = github.state.comments_on(issue["number"])
    assert "https://ci/run/10" in closing["body"]
    capsys.readouterr()
