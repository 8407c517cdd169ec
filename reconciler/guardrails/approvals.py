"""Guardrail verdicts on GitHub: approvals from pull-request reviews, commit statuses, and the
check of a merge commit before apply.

A ``needs-approval`` rule is satisfied by an approving review from the named user, or from an
active member of the named team, **on the pull request's current head**: the user's latest
review (comments aside) is ``APPROVED`` and its ``commit_id`` is the head commit. An approval of
an earlier commit is stale, whether or not the repository dismisses stale reviews, because the
plan it approved is no longer the plan that would be applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.github.client import GitHubClient, GitHubError
from reconciler.guardrails.model import Evaluation, Finding
from reconciler.guardrails.render import status_description

CONTEXT_PREFIX = "sms-policy/guardrail/"  # one status per fired rule
SUMMARY_CONTEXT = "sms-policy/guardrails"  # the one branch protection requires
# Review states that decide a reviewer's verdict; COMMENTED (and PENDING drafts) leave it as it was.
DECIDING = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})


@dataclass(frozen=True)
class Review:
    id: int
    login: str
    state: str
    commit_id: str


def reviews(client: GitHubClient, pr: int) -> list[Review]:
    """Every submitted review of pull request ``pr``, oldest first."""
    found = []
    for item in client.paginate(client.repo_path(f"/pulls/{pr}/reviews")):
        user = item.get("user") or {}
        if not user.get("login"):
            continue  # a deleted account ("ghost") approves nothing
        found.append(Review(int(item["id"]), str(user["login"]), str(item.get("state", "")), str(item.get("commit_id") or "")))
    return sorted(found, key=lambda r: r.id)


def approvers_of(head_sha: str, submitted: Iterable[Review]) -> list[str]:
    """Logins whose standing verdict is an approval of ``head_sha``."""
    latest: dict[str, Review] = {}
    for review in submitted:
        if review.state in DECIDING:
            latest[review.login.lower()] = review
    return sorted(r.login for r in latest.values() if r.state == "APPROVED" and r.commit_id == head_sha)


def is_team_member(client: GitHubClient, team: str, login: str) -> bool:
    """``login`` is an active member of ``org/team`` (a pending invitation is not membership)."""
    org, slug = team.split("/", 1)
    try:
        membership = client.get(f"/orgs/{org}/teams/{slug}/memberships/{login}")
    except GitHubError as error:
        if error.status == 404:  # not a member, or a token that cannot see the team: never approved
            return False
        raise
    return isinstance(membership, dict) and membership.get("state") == "active"


def approved_by(teams: GitHubClient, approver: str, logins: Iterable[str]) -> str | None:
    """The first of ``logins`` that satisfies ``approver`` (``@login`` or ``org/team``), as ``@login``."""
    for login in logins:
        if approver.startswith("@"):
            if login.lower() == approver[1:].lower():
                return f"@{login}"
        elif is_team_member(teams, approver, login):
            return f"@{login}"
    return None


def approvals(client: GitHubClient, teams: GitHubClient, evaluation: Evaluation, pr: int, head_sha: str) -> dict[str, str]:
    """Rule name -> who approved it, for the needs-approval findings approved on ``head_sha``."""
    waiting = evaluation.approvals
    if not waiting:
        return {}
    logins = approvers_of(head_sha, reviews(client, pr))
    found: dict[str, str] = {}
    for finding in waiting:
        who = approved_by(teams, str(finding.rule.approver), logins)
        if who:
            found[finding.rule.name] = who
    return found


def _state(finding: Finding, approved: Mapping[str, str]) -> str:
    if finding.verdict == "deny":
        return "failure"
    if finding.waits_for_approval and finding.rule.name not in approved:
        return "pending"
    return "success"


def summary_status(evaluation: Evaluation, approved: Mapping[str, str]) -> tuple[str, str]:
    """(state, description) of the summary status that branch protection requires."""
    if evaluation.denied:
        names = ", ".join(f.rule.name for f in evaluation.denied)
        return "failure", f"denied by {names}"[:140]
    waiting = [f for f in evaluation.approvals if f.rule.name not in approved]
    if waiting:
        who = ", ".join(sorted({str(f.rule.approver) for f in waiting}))
        return "pending", f"needs approval from {who}"[:140]
    return "success", f"{evaluation.rules} rule(s): {len(evaluation.findings)} fired, none pending"[:140]


def publish(client: GitHubClient, sha: str, evaluation: Evaluation, approved: Mapping[str, str],
            target_url: str | None = None) -> list[dict[str, str]]:
    """One commit status per fired rule, then the summary status; returns what was posted."""
    posted = []
    for finding in evaluation.findings:
        posted.append({"context": CONTEXT_PREFIX + finding.rule.name, "state": _state(finding, approved),
                       "description": status_description(finding, approved.get(finding.rule.name))})
    state, description = summary_status(evaluation, approved)
    posted.append({"context": SUMMARY_CONTEXT, "state": state, "description": description})
    for status in posted:
        client.post(client.repo_path(f"/statuses/{sha}"), {**status, **({"target_url": target_url} if target_url else {})})
    return posted


def publish_error(client: GitHubClient, sha: str, description: str, target_url: str | None = None) -> None:
    """The summary status when the guardrails could not be evaluated: never a pass."""
    body = {"context": SUMMARY_CONTEXT, "state": "error", "description": description[:140]}
    client.post(client.repo_path(f"/statuses/{sha}"), {**body, **({"target_url": target_url} if target_url else {})})


@dataclass(frozen=True)
class MergedPull:
    number: int
    head_sha: str


def pulls_of_merge(client: GitHubClient, sha: str, branch: str) -> list[MergedPull]:
    """The pull requests merged into ``branch`` as commit ``sha`` (merge, squash or rebase)."""
    found = []
    for item in client.paginate(client.repo_path(f"/commits/{sha}/pulls")):
        if not item.get("merged_at") or (item.get("base") or {}).get("ref") != branch:
            continue
        if item.get("merge_commit_sha") != sha:
            continue  # a pull request that merely contains the commit
        found.append(MergedPull(int(item["number"]), str((item.get("head") or {}).get("sha") or "")))
    return found


def merge_refusals(client: GitHubClient, teams: GitHubClient, evaluation: Evaluation, sha: str, branch: str) -> list[str]:
    """Why commit ``sha`` of ``branch`` must not be applied (empty: it may)."""
    problems = [f"rule {f.rule.name} denies this change: {f.details[0] if f.details else ''}".rstrip(": ")
                for f in evaluation.denied]
    if not evaluation.approvals:
        return problems
    pulls = pulls_of_merge(client, sha, branch)
    if not pulls:
        return problems + [f"rule {f.rule.name} needs approval from {f.rule.approver}, but commit {sha[:12]} was not "
                           f"merged from a pull request, so nobody approved it" for f in evaluation.approvals]
    for pull in pulls:
        approved = approvals(client, teams, evaluation, pull.number, pull.head_sha)
        problems += [f"rule {f.rule.name} needs approval from {f.rule.approver}, but pull request #{pull.number} "
                     f"was merged without it on its head {pull.head_sha[:12]}"
                     for f in evaluation.approvals if f.rule.name not in approved]
    return problems

