"""Sticky pull-request comments: one per marker, updated in place on every push."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.github.client import MAX_BODY_CHARS, GitHubClient, GitHubError

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def marker(kind: str, key: str) -> str:
    """The hidden HTML comment that identifies our comment or issue, e.g. for target ``prod``."""
    if not _KEY.fullmatch(key):
        raise GitHubError(f"invalid marker key {key!r}", hint="use letters, digits, '.', '_' or '-'.")
    return f"<!-- sms-policy-reconciler:{kind}:{key} -->"


def with_marker(body: str, mark: str) -> str:
    body = body if mark in body else f"{mark}\n{body}"
    if len(body) > MAX_BODY_CHARS:
        raise GitHubError(
            f"the comment is {len(body):,} characters; GitHub accepts at most {MAX_BODY_CHARS:,}",
            hint="render the report with `reconciler github render`, which summarises large plans.",
        )
    return body


@dataclass(frozen=True)
class Posted:
    action: str  # "created" | "updated" | "unchanged"
    id: int
    url: str


def check_head(client: GitHubClient, pr: int, head_sha: str) -> None:
    """Refuse to comment when the pull request's head moved or never was ``head_sha``.

    Used when a privileged workflow posts a report produced by an unprivileged fork run:
    the report must belong to the pull request it is posted on.
    """
    pull = client.get(client.repo_path(f"/pulls/{pr}"))
    actual = (pull or {}).get("head", {}).get("sha")
    if actual != head_sha:
        raise GitHubError(
            f"pull request #{pr} head is {actual}, but the report was made for {head_sha}",
            hint="a newer push will post its own report; nothing was posted.",
        )


def upsert_comment(client: GitHubClient, pr: int, body: str, mark: str) -> Posted:
    """Update the comment holding ``mark`` on pull request ``pr`` (or create it)."""
    body = with_marker(body, mark)
    existing = None
    for comment in client.paginate(client.repo_path(f"/issues/{pr}/comments")):
        if mark in (comment.get("body") or ""):
            existing = comment  # the newest one wins if a race ever created two
    if existing is None:
        created = client.post(client.repo_path(f"/issues/{pr}/comments"), {"body": body})
        return Posted("created", int(created["id"]), str(created.get("html_url", "")))
    if existing.get("body") == body:
        return Posted("unchanged", int(existing["id"]), str(existing.get("html_url", "")))
    updated = client.patch(client.repo_path(f"/issues/comments/{existing['id']}"), {"body": body})
    return Posted("updated", int(updated["id"]), str(updated.get("html_url", "")))
