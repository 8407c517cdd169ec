"""Guardrail approvals against the local GitHub-like server: commit statuses per verdict, approvals
on the pull request's current head (stale ones do not count), and the merge check before apply."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fake_github import FakeGitHub

from reconciler.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "guardrails"))
from sample_plans import (
    emergency_plan,
    external_share_plan,
    guardrails_file,
    high_risk_plan,
    opt_out_loss_plan,
    saved,
)

HEAD = "1" * 40
PUSHED = "2" * 40
MERGE = "3" * 40
FRAUD = "sms-policy/guardrail/high-risk-sms"
SUMMARY = "sms-policy/guardrails"


def evaluate_pr(github: FakeGitHub, tmp_path: Path, pr: int, head: str, plan: str, *extra: str) -> int:
    return main(["github", "guardrails", "--pr", str(pr), "--head-sha", head, "--plan", plan,
                 "--guardrails", guardrails_file(tmp_path), *extra])


def states(github: FakeGitHub, sha: str) -> dict[str, tuple[str, str]]:
    return {context: (s["state"], s["description"]) for context, s in github.state.statuses_of(sha).items()}


def test_status_needs_the_teams_approval_on_the_current_head_and_a_push_makes_it_stale(
        github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github.state.dismiss_stale_reviews = False  # even without the branch rule, an old approval is stale
    github.state.add_team_member("acme/fraud", "fiona")
    github.state.add_team_member("acme/fraud", "newbie", state="pending")
    pr = github.state.add_pull(HEAD)
    plan = saved(tmp_path, "pr.json", high_risk_plan())

    assert evaluate_pr(github, tmp_path, pr, HEAD, plan, "--target-url", "https://ci.example/run/1") == 0
    assert states(github, HEAD) == {
        FRAUD: ("pending", "needs approval from acme/fraud: prod: 1 country on list high_risk newly reachable for SMS: "
                           "Nigeria (NG)"),
        SUMMARY: ("pending", "needs approval from acme/fraud"),
    }
    assert github.state.statuses_of(HEAD)[FRAUD]["target_url"] == "https://ci.example/run/1"

    # Approvals that do not count: someone outside the team, a pending invitee, a comment.
    github.state.review(pr, "mallory")
    github.state.review(pr, "newbie")
    github.state.review(pr, "fiona", state="COMMENTED")
    assert evaluate_pr(github, tmp_path, pr, HEAD, plan) == 0
    assert states(github, HEAD)[SUMMARY] == ("pending", "needs approval from acme/fraud")

    # The team's approval of the head (re-evaluated on pull_request_review) satisfies the rule.
    github.state.review(pr, "fiona")
    assert evaluate_pr(github, tmp_path, pr, HEAD, plan, "--out", str(tmp_path / "verdicts.json")) == 0
    assert states(github, HEAD)[FRAUD][0] == "success"
    assert states(github, HEAD)[FRAUD][1].startswith("approved by @fiona (acme/fraud)")
    assert states(github, HEAD)[SUMMARY] == ("success", "4 rule(s): 1 fired, none pending")
    assert json.loads((tmp_path / "verdicts.json").read_text())["findings"][0]["approved_by"] == "@fiona"

    # A new push: fiona's approval was of the old head, so the new head waits again.
    github.state.push(pr, PUSHED)
    assert evaluate_pr(github, tmp_path, pr, PUSHED, plan) == 0
    assert states(github, PUSHED)[FRAUD][0] == "pending"
    assert states(github, PUSHED)[SUMMARY] == ("pending", "needs approval from acme/fraud")
    # A later request for changes withdraws an approval of the same head.
    github.state.review(pr, "fiona")
    github.state.review(pr, "fiona", state="CHANGES_REQUESTED")
    assert evaluate_pr(github, tmp_path, pr, PUSHED, plan) == 0
    assert states(github, PUSHED)[FRAUD][0] == "pending"
    out = capsys.readouterr().out
    assert "status sms-policy/guardrails: pending — needs approval from acme/fraud" in out


def test_a_dismissed_approval_does_not_count(github: FakeGitHub, tmp_path: Path) -> None:
    github.state.dismiss_stale_reviews = True
    pr = github.state.add_pull(HEAD)
    github.state.review(pr, "sam")  # a user approver: @sam
    github.state.push(pr, HEAD)  # a push of the same head (a rebase): GitHub still dismisses
    rails = guardrails_file(tmp_path, "rules:\n  - name: share\n    when: {effect: external_principals}\n"
                                      "    verdict: {needs-approval: \"@sam\"}\n")
    plan = saved(tmp_path, "pr.json", external_share_plan())
    assert main(["github", "guardrails", "--pr", str(pr), "--head-sha", HEAD, "--plan", plan, "--guardrails", rails]) == 0
    assert states(github, HEAD)["sms-policy/guardrail/share"][0] == "pending"
    github.state.review(pr, "Sam")  # logins compare case-insensitively, as on GitHub
    assert main(["github", "guardrails", "--pr", str(pr), "--head-sha", HEAD, "--plan", plan, "--guardrails", rails]) == 0
    assert states(github, HEAD)["sms-policy/guardrail/share"] == (
        "success", "approved by @Sam (@sam): prod: 1 principal(s) gain a share open to principals outside the "
                   "organization: 999988887777 (partner)")


def test_a_deny_fails_the_summary_status(github: FakeGitHub, tmp_path: Path) -> None:
    pr = github.state.add_pull(HEAD)
    assert evaluate_pr(github, tmp_path, pr, HEAD, saved(tmp_path, "pr.json", opt_out_loss_plan())) == 0
    assert states(github, HEAD) == {
        "sms-policy/guardrail/opt-out-coverage": (
            "failure", "denied: prod: 2 recipient(s) who replied STOP could be messaged again by 1 identity moving to a "
                       "list that lacks their opt-outs"),
        SUMMARY: ("failure", "denied by opt-out-coverage"),
    }


def test_guardrails_that_cannot_be_evaluated_set_an_error_status(github: FakeGitHub, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    pr = github.state.add_pull(HEAD)
    path = Path(saved(tmp_path, "old.json", high_risk_plan()))
    document = json.loads(path.read_text())
    del document["plans"][0]["effects"]
    path.write_text(json.dumps(document))
    assert evaluate_pr(github, tmp_path, pr, HEAD, str(path)) == 1
    assert states(github, HEAD) == {SUMMARY: ("error", "guardrails could not be evaluated: see the run")}
    assert "has no effect summary" in capsys.readouterr().err


def check_merge(tmp_path: Path, plan: str, commit: str = MERGE) -> int:
    return main(["github", "check-merge", "--commit", commit, "--branch", "main", "--plan", plan,
                 "--guardrails", guardrails_file(tmp_path)])


def test_apply_refuses_a_merge_whose_pull_request_lacked_the_approval(
        github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github.state.add_team_member("acme/fraud", "fiona")
    pr = github.state.add_pull(HEAD)
    github.state.review(pr, "fiona")  # approved the first head…
    github.state.push(pr, PUSHED)  # …then a push, and the pull request was merged without a new approval
    github.state.merge(pr, MERGE)
    plan = saved(tmp_path, "plan.json", high_risk_plan())

    assert check_merge(tmp_path, plan) == 1
    err = capsys.readouterr().err
    assert (f"not applying commit {MERGE[:12]}: rule high-risk-sms needs approval from acme/fraud, but pull request "
            f"#{pr} was merged without it on its head {PUSHED[:12]}") in err

    # With the approval on the head at merge, the same commit may be applied.
    github.state.review(pr, "fiona", commit_id=PUSHED)
    assert check_merge(tmp_path, plan) == 0
    assert f"guardrails: commit {MERGE[:12]} may be applied" in capsys.readouterr().out


def test_apply_refuses_a_commit_pushed_without_a_pull_request(github: FakeGitHub, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert check_merge(tmp_path, saved(tmp_path, "plan.json", high_risk_plan())) == 1
    assert "was not merged from a pull request, so nobody approved it" in capsys.readouterr().err


def test_apply_refuses_a_denied_change_and_lets_an_emergency_block_through(
        github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_merge(tmp_path, saved(tmp_path, "deny.json", opt_out_loss_plan())) == 1
    assert "rule opt-out-coverage denies this change: prod: 2 recipient(s)" in capsys.readouterr().err
    rails = guardrails_file(tmp_path, "rules:\n  - name: big-blocks\n    when: {effect: countries_newly_blocked}\n"
                                      "    verdict: {needs-approval: acme/fraud}\n")
    plan = saved(tmp_path, "block.json", emergency_plan())
    # Pushed straight to main, no review at all: an emergency block is not held for an approval.
    assert main(["github", "check-merge", "--commit", MERGE, "--plan", plan, "--guardrails", rails]) == 0
    assert "may be applied (the plan only blocks countries: the emergency fast path waits for no approval)" in (
        capsys.readouterr().out)
    assert not any(path.endswith("/pulls") for _, path in github.state.requests)


def test_the_comment_shows_the_verdicts_first(github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pr = github.state.add_pull(HEAD)
    plan = saved(tmp_path, "pr.json", high_risk_plan())
    verdicts = tmp_path / "verdicts.json"
    assert evaluate_pr(github, tmp_path, pr, HEAD, plan, "--out", str(verdicts)) == 0
    comment = tmp_path / "comment.md"
    assert main(["github", "render", "--plan", plan, "--verdicts", str(verdicts), "--out", str(comment)]) == 0
    text = comment.read_text()
    assert text.index("#### Guardrails") < text.index("#### Effect")
    assert "⏳ **Needs approval from `acme/fraud`** (`high-risk-sms`)" in text
    # A fork's plan is rendered without verdicts: those would be the fork's own claim.
    assert main(["github", "render", "--plan", plan, "--untrusted-fork", "--verdicts", str(verdicts)]) == 1
    assert "--verdicts cannot be combined with --untrusted-fork" in capsys.readouterr().err
    verdicts.write_text('{"findings": [{"rule": 1}]}')
    assert main(["github", "render", "--plan", plan, "--verdicts", str(verdicts)]) == 1
    assert "not guardrail verdicts" in capsys.readouterr().err
