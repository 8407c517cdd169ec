"""One drift issue per target: opened on drift, updated while it lasts, closed once it is gone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.github.client import GitHubClient
from reconciler.github.comments import with_marker

DRIFT_LABEL = "drift"


@dataclass(frozen=True)
class IssueResult:
    action: str  # "created" | "updated" | "unchanged" | "closed" | "none"
    number: int | None = None
    url: str = ""


def find_open_issue(client: GitHubClient, mark: str, label: str = DRIFT_LABEL) -> dict[str, Any] | None:
    # The issues endpoint lists pull requests too; those carry a "pull_request" key.
    for issue in client.paginate(client.repo_path("/issues"), {"state": "open", "labels": label}):
        if "pull_request" not in issue and mark in (issue.get("body") or ""):
            return dict(issue)
    return None


def upsert_issue(client: GitHubClient, title: str, body: str, mark: str, label: str = DRIFT_LABEL) -> IssueResult:
    body = with_marker(body, mark)
    issue = find_open_issue(client, mark, label)
    if issue is None:
        created = client.post(client.repo_path("/issues"), {"title": title, "body": body, "labels": [label]})
        return IssueResult("created", int(created["number"]), str(created.get("html_url", "")))
    if issue.get("body") == body and issue.get("title") == title:
        return IssueResult("unchanged", int(issue["number"]), str(issue.get("html_url", "")))
    updated = client.patch(client.repo_path(f"/issues/{issue['number']}"), {"title": title, "body": body})
    return IssueResult("updated", int(updated["number"]), str(updated.get("html_url", "")))


def close_issue(client: GitHubClient, comment: str, mark: str, label: str = DRIFT_LABEL) -> IssueResult:
    issue = find_open_issue(client, mark, label)
    if issue is None:
        return IssueResult("none")
    number = int(issue["number"])
    client.post(client.repo_path(f"/issues/{number}/comments"), {"body": comment})
    closed = client.patch(client.repo_path(f"/issues/{number}"), {"state": "closed", "state_reason": "completed"})
    return IssueResult("closed", number, str(closed.get("html_url", "")))
